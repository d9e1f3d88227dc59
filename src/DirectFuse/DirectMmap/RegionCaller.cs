namespace DirectFuse.DirectMmap;

/// <summary>
/// Who is asking for a region: the caller's credentials, the calling thread (the request header's "pid"),
/// and, at open time, its open(2) flags. <see cref="LookUpProcess"/> tells the thread's process as it is
/// unique while the system runs; it reads /proc, so only when a policy asks, and once per caller.
/// </summary>
public readonly record struct RegionCaller(uint Uid, uint Gid, uint ThreadId, int? OpenFlags)
{
    // Shared by the copies of this caller that a policy and Resolve see, so a policy that looks at the process
    // and then leaves the key to Resolve reads /proc once. A copy made with 'with' may name another thread.
    private readonly ProcessLookup _process = new(ThreadId);

    /// <summary>
    /// The caller's process (id and start time, see <see cref="ProcessIdentity"/>), or null if /proc does not show
    /// the calling thread (it has no pid in the server's pid namespace, or is hidden). Build per-process keys from
    /// this, never from a bare process id: ids are reused, and a later process with the same id must not match.
    /// </summary>
    public ProcessIdentity? LookUpProcess() =>
        _process is { } lookup && lookup.ThreadId == ThreadId ? lookup.Value : ProcessIdentity.OfThread(ThreadId);

    /// <summary>Equal when the four values are; the cached process lookup takes no part.</summary>
    public bool Equals(RegionCaller other) =>
        Uid == other.Uid && Gid == other.Gid && ThreadId == other.ThreadId && OpenFlags == other.OpenFlags;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Uid, Gid, ThreadId, OpenFlags);

    /// <summary>The caller of a request.</summary>
    public static RegionCaller Of(DirectFuse.LowLevel.FuseContext context, int? openFlags = null) =>
        new(context.Uid, context.Gid, context.Pid, openFlags);

    /// <summary>The lookup for one request's caller, which one thread at a time decides for: no locking.</summary>
    private sealed class ProcessLookup(uint threadId)
    {
        private ProcessIdentity? _value;
        private bool _done;

        public uint ThreadId { get; } = threadId;

        public ProcessIdentity? Value
        {
            get
            {
                if (!_done)
                {
                    _value = ProcessIdentity.OfThread(ThreadId);
                    _done = true;
                }
                return _value;
            }
        }
    }
}
