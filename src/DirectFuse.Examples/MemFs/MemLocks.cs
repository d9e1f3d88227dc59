using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

/// <summary>
/// The locks on one inode. POSIX record locks belong to a lock owner (the kernel's id for the process's file
/// table): an owner's locks never conflict with each other, a new lock replaces the owner's locks on the range
/// (splitting them) and merges with adjacent ones of the same type. flock(2) locks belong to the open file and
/// cover the whole file; they are a separate namespace, as on Linux. Waiters (F_SETLKW, blocking flock) are
/// woken on every change and try again. The file system's write lock guards all of it.
/// </summary>
internal sealed class MemLocks
{
    private struct Range
    {
        public ulong Owner;
        public ulong Start;
        public ulong End; // inclusive
        public int Type;
        public int Pid;
    }

    private readonly List<Range> _posix = [];
    private readonly List<Range> _flocks = [];
    private readonly List<TaskCompletionSource> _waiters = [];

    public bool IsEmpty => _posix.Count == 0 && _flocks.Count == 0 && _waiters.Count == 0;

    /// <summary>F_GETLK: the first lock of another owner that conflicts with <paramref name="request"/>.</summary>
    public bool FindConflict(ulong owner, in FileLock request, out FileLock conflict)
    {
        foreach (var r in _posix)
        {
            if (Conflicts(r, owner, request.Start, request.End, request.Type))
            {
                conflict = new FileLock(r.Start, r.End, r.Type, r.Pid);
                return true;
            }
        }
        conflict = default;
        return false;
    }

    /// <summary>F_SETLK: false if another owner holds a conflicting lock (nothing changes then).</summary>
    public bool TrySetPosix(ulong owner, in FileLock request)
    {
        ulong start = request.Start, end = request.End;
        if (request.Type != FileLock.Unlock)
            foreach (var r in _posix)
                if (Conflicts(r, owner, start, end, request.Type)) return false;

        // Cut the owner's existing locks out of the range, keeping the parts outside it.
        for (int i = _posix.Count - 1; i >= 0; i--)
        {
            var r = _posix[i];
            if (r.Owner != owner || r.End < start || r.Start > end) continue;
            _posix.RemoveAt(i);
            if (r.Start < start) _posix.Add(r with { End = start - 1 });
            if (r.End > end) _posix.Add(r with { Start = end + 1 });
        }
        if (request.Type == FileLock.Unlock) return true;

        // Merge with the owner's touching locks of the same type.
        for (int i = _posix.Count - 1; i >= 0; i--)
        {
            var r = _posix[i];
            if (r.Owner != owner || r.Type != request.Type) continue;
            bool touchesBefore = start > 0 && r.End == start - 1;
            bool touchesAfter = end < ulong.MaxValue && r.Start == end + 1;
            if (!touchesBefore && !touchesAfter) continue;
            start = Math.Min(start, r.Start);
            end = Math.Max(end, r.End);
            _posix.RemoveAt(i);
        }
        _posix.Add(new Range { Owner = owner, Start = start, End = end, Type = request.Type, Pid = request.Pid });
        return true;
    }

    /// <summary>
    /// flock(2): false on conflict. Like Linux, converting an existing lock drops it first, so a failed
    /// conversion leaves the file unlocked by this owner.
    /// </summary>
    public bool TrySetFlock(ulong owner, int type, int pid)
    {
        RemoveFlock(owner);
        if (type == FileLock.Unlock) return true;
        foreach (var r in _flocks)
            if (r.Owner != owner && (r.Type == FileLock.WriteLock || type == FileLock.WriteLock)) return false;
        _flocks.Add(new Range { Owner = owner, Start = 0, End = long.MaxValue, Type = type, Pid = pid });
        return true;
    }

    /// <summary>Drops every record lock of <paramref name="owner"/> (close(2) of any descriptor of the file does that).</summary>
    public bool ReleasePosix(ulong owner)
    {
        int before = _posix.Count;
        for (int i = _posix.Count - 1; i >= 0; i--)
            if (_posix[i].Owner == owner) _posix.RemoveAt(i);
        return _posix.Count != before;
    }

    /// <summary>Drops the flock of the open file identified by <paramref name="owner"/>.</summary>
    public bool RemoveFlock(ulong owner)
    {
        for (int i = 0; i < _flocks.Count; i++)
        {
            if (_flocks[i].Owner != owner) continue;
            _flocks.RemoveAt(i);
            return true;
        }
        return false;
    }

    public TaskCompletionSource AddWaiter()
    {
        // Continuations must not run under the file system's lock, on the thread that released the lock.
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Add(waiter);
        return waiter;
    }

    public void RemoveWaiter(TaskCompletionSource waiter) => _waiters.Remove(waiter);

    /// <summary>Lets every waiter try again.</summary>
    public void WakeAll()
    {
        if (_waiters.Count == 0) return;
        foreach (var waiter in _waiters) waiter.TrySetResult();
        _waiters.Clear();
    }

    private static bool Conflicts(in Range r, ulong owner, ulong start, ulong end, int type) =>
        r.Owner != owner && r.Start <= end && start <= r.End && (r.Type == FileLock.WriteLock || type == FileLock.WriteLock);
}
