namespace DirectFuse.DirectMmap;

/// <summary>
/// Who is asking for a region: the caller's credentials, the calling thread (the request header's "pid"),
/// and, at open time, its open(2) flags. <see cref="Pid"/> is the thread's process, looked up only when a
/// policy asks for it (it reads /proc).
/// </summary>
public readonly record struct RegionCaller(uint Uid, uint Gid, uint ThreadId, int? OpenFlags)
{
    /// <summary>The caller's process id (thread group): what "per process" means.</summary>
    public uint Pid => ProcessIds.ProcessOf(ThreadId);

    /// <summary>The caller of a request.</summary>
    public static RegionCaller Of(DirectFuse.LowLevel.FuseContext context, int? openFlags = null) =>
        new(context.Uid, context.Gid, context.Pid, openFlags);
}

/// <summary>
/// The policy's answer: which region (by share key: equal keys share one region) and how big. Both are
/// optional, as in the 2010 library proposal: no key gives the caller a region of its own, no size the
/// policy's default. Sizes are rounded up to the page size, so server authors never deal with alignment.
/// </summary>
public readonly record struct RegionChoice(string? ShareKey = null, long? Size = null);

/// <summary>Decides which region a client gets when it opens a region-backed file.</summary>
public abstract class RegionPolicy
{
    protected RegionPolicy(long defaultSize) => DefaultSize = defaultSize;

    public long DefaultSize { get; }

    /// <summary>Chooses for <paramref name="caller"/>. Called at LOOKUP (no open flags yet) and again at OPEN.</summary>
    public abstract RegionChoice Choose(RegionCaller caller);

    /// <summary>One region for everybody.</summary>
    public static RegionPolicy Shared(long size) => new Delegating(size, _ => new RegionChoice("shared"), "shared");
    /// <summary>One region per UID, shared by all processes of that UID (the 2010 thread's fmmap example).</summary>
    public static RegionPolicy PerUid(long size) => new Delegating(size, c => new RegionChoice("uid:" + c.Uid), "per-uid");
    /// <summary>One region per process.</summary>
    public static RegionPolicy PerProcess(long size) => new Delegating(size, c => new RegionChoice("pid:" + c.Pid), "per-process");
    /// <summary>The server decides from the caller: a share key and a size, both optional.</summary>
    public static RegionPolicy FromCallback(long defaultSize, Func<RegionCaller, RegionChoice> choose) => new Delegating(defaultSize, choose, "callback");

    /// <summary>The key and page-rounded size the policy gives <paramref name="caller"/>; a null key becomes a key private to that caller's process.</summary>
    public (string Key, long Size) Resolve(RegionCaller caller)
    {
        var choice = Choose(caller);
        long size = choice.Size ?? DefaultSize;
        if (size <= 0) throw new FuseException(Errno.EINVAL, $"the region policy chose a size of {size} bytes");
        long page = MmapAddressSpace.PageSize;
        size = (size + page - 1) / page * page;
        return (choice.ShareKey ?? $"private:pid:{caller.Pid}", size);
    }

    private sealed class Delegating(long size, Func<RegionCaller, RegionChoice> choose, string name) : RegionPolicy(size)
    {
        public override RegionChoice Choose(RegionCaller caller) => choose(caller);
        public override string ToString() => $"{name}, {DefaultSize} bytes";
    }
}
