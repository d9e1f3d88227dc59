namespace DirectFuse.DirectMmap;

/// <summary>
/// A process as it stays unique while the system runs: its id and the time it started. An id alone does not:
/// ids are reused once their process has ended (they wrap at /proc/sys/kernel/pid_max), and a later holder of
/// the same id starts later. (Clock ticks are coarse: only a pid_max small enough to wrap within one tick, about
/// 10 ms, could give two processes one identity.)
/// </summary>
/// <param name="Pid">The process id (thread group id).</param>
/// <param name="StartTime">When the process started, in clock ticks since boot (field 22 of /proc/PID/stat).</param>
public readonly record struct ProcessIdentity(uint Pid, ulong StartTime)
{
    /// <summary>
    /// The process thread <paramref name="threadId"/> belongs to, or null if /proc does not show it (gone, thread
    /// id 0 for a caller outside the server's pid namespace, or hidden by hidepid). Reads two /proc files.
    /// </summary>
    /// <remarks>
    /// The start time is the process's (its thread group leader's), not the thread's: each thread has its own.
    /// For the caller of a FUSE request this is race-free: once the server has read a request, the calling thread
    /// waits for the answer even through SIGKILL, so its id cannot be reused while the request is served; nor can
    /// its process's id, which stays taken (a zombie leader, if need be) until the last thread is reaped.
    /// /proc must show the pid namespace the mount translates pids into, that of the process that mounted it.
    /// </remarks>
    public static ProcessIdentity? OfThread(uint threadId) =>
        threadId != 0 && ProcFiles.TryReadThreadGroup(threadId, out uint pid) && ProcFiles.TryReadStartTime(pid, out ulong startTime)
            ? new ProcessIdentity(pid, startTime)
            : null;
}
