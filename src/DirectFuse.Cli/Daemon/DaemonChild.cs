using DirectFuse.Cli.Interop;
using DirectFuse.Cli.Output;

namespace DirectFuse.Cli.Daemon;

/// <summary>
/// The daemon's side of the start-up: until the mount is live its standard error is the readiness pipe, so every
/// message (a refused option, a failed mount, even a crash of the runtime) reaches the command that started it,
/// written as journal lines whose priority that command keeps;
/// once INIT is answered it writes the ready byte and puts standard error where standard output goes (the
/// journal, or /dev/null), so that nobody waiting on the pipe waits on the daemon.
/// </summary>
internal static class DaemonChild
{
    /// <summary>Set by <see cref="Daemonizer"/> in the daemon's environment; removed again at start.</summary>
    public const string Variable = "DIRECTFUSE_DAEMON_CHILD";

    /// <summary>The byte that ends the readiness pipe's text: the mount is live.</summary>
    public const byte ReadyByte = 0;

    private static int s_ready;

    /// <summary>True in the daemon until it is ready.</summary>
    public static bool IsActive { get; private set; }

    /// <summary>Takes the marker out of the environment (fusermount3 and other children must not see it).</summary>
    public static void Detect()
    {
        string? marker = Environment.GetEnvironmentVariable(Variable);
        if (marker is null) return;
        Environment.SetEnvironmentVariable(Variable, null);
        // Only a pipe on standard error is ours: anything else is a stray variable, and this an ordinary run.
        IsActive = marker == "1" && Native.FileType(2) == Native.S_IFIFO;
    }

    /// <summary>
    /// The mount is live: tells the waiting command, then leaves the pipe: standard error joins standard output
    /// (the journal, or /dev/null) and the working directory becomes / so that the daemon keeps no file system busy.
    /// </summary>
    public static void SignalReady()
    {
        if (!IsActive || Interlocked.Exchange(ref s_ready, 1) != 0) return;
        var pipe = Native.DeviceAndInode(2);
        Native.WriteAll(2, [ReadyByte]);
        Native.dup2(1, 2);
        // .NET's Console keeps duplicates of 0-2 made at start-up: a duplicate of the pipe would keep it open for
        // the daemon's lifetime. Point every one of them where standard output goes too.
        if (pipe is { } readiness) RedirectDuplicates(readiness);
        IsActive = false;
        CliOutput.DetectJournal();
        Directory.SetCurrentDirectory("/");
    }

    private static void RedirectDuplicates((ulong Device, ulong Inode) pipe)
    {
        foreach (int fd in Native.DescriptorsAboveStandardError())
            if (Native.DeviceAndInode(fd) == pipe) Native.dup2(1, fd);
    }
}
