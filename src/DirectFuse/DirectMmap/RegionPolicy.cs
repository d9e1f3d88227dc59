namespace DirectFuse.DirectMmap;

/// <summary>
/// The policy's answer: which region (by share key: equal keys share one region) and how big. Both are
/// optional, as in the 2010 library proposal: no key gives the caller a region of its own, no size the
/// policy's default. Sizes are rounded up to the page size, so server authors never deal with alignment.
/// </summary>
public readonly record struct RegionChoice(string? ShareKey = null, long? Size = null);

/// <summary>Decides which region a client gets when it opens a region-backed file.</summary>
public abstract class RegionPolicy
{
    /// <summary>
    /// A policy whose choices without a size get <paramref name="defaultSize"/> bytes (rounded up to the page size).
    /// </summary>
    protected RegionPolicy(long defaultSize) => DefaultSize = defaultSize;

    /// <summary>The size in bytes of a region whose <see cref="RegionChoice"/> names none.</summary>
    public long DefaultSize { get; }

    /// <summary>Chooses for <paramref name="caller"/>. Called at LOOKUP (no open flags yet) and again at OPEN.</summary>
    public abstract RegionChoice Choose(RegionCaller caller);

    /// <summary>One region for everybody.</summary>
    public static RegionPolicy Shared(long size) => new Delegating(size, _ => new RegionChoice("shared"), "shared");
    /// <summary>One region per UID, shared by all processes of that UID (the 2010 thread's fmmap example).</summary>
    public static RegionPolicy PerUid(long size) => new Delegating(size, c => new RegionChoice("uid:" + c.Uid), "per-uid");
    /// <summary>
    /// One region per process: key "pid:UID:PID:STARTTIME" (<see cref="ProcessIdentity"/>), so a later process that
    /// gets the same id, of any user, gets a region of its own.
    /// </summary>
    public static RegionPolicy PerProcess(long size) => new Delegating(size, c => new RegionChoice(ProcessKey("pid", c)), "per-process");
    /// <summary>The server decides from the caller: a share key and a size, both optional.</summary>
    public static RegionPolicy FromCallback(long defaultSize, Func<RegionCaller, RegionChoice> choose) => new Delegating(defaultSize, choose, "callback");

    /// <summary>
    /// The key and page-rounded size the policy gives <paramref name="caller"/>; a null key becomes a key private
    /// to that caller's process, "private:pid:UID:PID:STARTTIME".
    /// </summary>
    public (string Key, long Size) Resolve(RegionCaller caller)
    {
        var choice = Choose(caller);
        long size = choice.Size ?? DefaultSize;
        if (size <= 0) throw new FuseException(Errno.EINVAL, $"the region policy chose a size of {size} bytes");
        long page = MmapAddressSpace.PageSize;
        size = (size + page - 1) / page * page;
        return (choice.ShareKey ?? ProcessKey("private:pid", caller), size);
    }

    /// <summary>
    /// "<paramref name="prefix"/>:UID:PID:STARTTIME": the caller's uid and its process as it is unique while the
    /// system runs, so neither another user nor a later process with a reused id can match it. A caller whose
    /// process /proc does not show is refused with ESRCH: any key made up for it (its bare thread id, or the
    /// 0 that callers from another pid namespace all send) could be matched by somebody else, and a key nobody
    /// could match would differ between its LOOKUP and OPEN anyway.
    /// </summary>
    private static string ProcessKey(string prefix, RegionCaller caller) =>
        caller.LookUpProcess() is { } process
            ? $"{prefix}:{caller.Uid}:{process.Pid}:{process.StartTime}"
            : throw new FuseException(Errno.ESRCH, $"/proc does not show the process of thread {caller.ThreadId}, so it cannot have a region of its own");

    private sealed class Delegating(long size, Func<RegionCaller, RegionChoice> choose, string name) : RegionPolicy(size)
    {
        public override RegionChoice Choose(RegionCaller caller) => choose(caller);
        public override string ToString() => $"{name}, {DefaultSize} bytes";
    }
}
