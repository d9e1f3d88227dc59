using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

// POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) and flock(2).
public sealed partial class MemFileSystem
{
    /// <summary>Both kinds, kept in the file system: what GETLK reports covers every client of the mount.</summary>
    public override LockKinds ServedLocks => LockKinds.Posix | LockKinds.Flock;

    public override ValueTask<Result<FileLock>> GetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<FileLock>(Errno.ENOENT);
            if (n.Locks is { } locks && locks.FindConflict(owner, @lock, out var conflict)) return Done<FileLock>(conflict);
            return Done<FileLock>(@lock with { Type = FileLock.Unlock });
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Errno> SetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, bool wait, bool isFlock, CancellationToken cancellationToken)
    {
        if (@lock.Type is not (FileLock.ReadLock or FileLock.WriteLock or FileLock.Unlock) || @lock.Start > @lock.End) return Done(Errno.EINVAL);
        var errno = TrySetLock(node, owner, @lock, isFlock, wait, out var waiter);
        return waiter is null ? Done(errno) : WaitForLockAsync(node, owner, @lock, isFlock, waiter, cancellationToken);
    }

    /// <summary>F_SETLKW and blocking flock: wait outside the file system's lock until a change lets the lock be taken.</summary>
    private async ValueTask<Errno> WaitForLockAsync(NodeId node, ulong owner, FileLock @lock, bool isFlock, TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                ForgetWaiter(node, waiter);
                throw; // answers EINTR: the caller got a signal
            }
            var errno = TrySetLock(node, owner, @lock, isFlock, wait: true, out var next);
            if (next is null) return errno;
            waiter = next;
        }
    }

    /// <summary>
    /// Takes or drops the lock, or (with <paramref name="wait"/>) registers a waiter if another owner is in the
    /// way. A null <paramref name="waiter"/> means the returned errno is the answer.
    /// </summary>
    private Errno TrySetLock(NodeId node, ulong owner, in FileLock @lock, bool isFlock, bool wait, out TaskCompletionSource? waiter)
    {
        waiter = null;
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Errno.ENOENT;
            var locks = n.Locks ??= new MemLocks();
            bool taken = isFlock ? locks.TrySetFlock(owner, @lock.Type, @lock.Pid) : locks.TrySetPosix(owner, @lock);
            if (taken)
            {
                locks.WakeAll(); // an unlock, a split or a downgrade may let a waiter in
                return Errno.Ok;
            }
            if (!wait) return Errno.EAGAIN;
            waiter = locks.AddWaiter();
            return Errno.Ok;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void ForgetWaiter(NodeId node, TaskCompletionSource waiter)
    {
        _lock.EnterWriteLock();
        try
        {
            Find(node)?.Locks?.RemoveWaiter(waiter);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }
}
