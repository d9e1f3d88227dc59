using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Tests.Session;

/// <summary>
/// A file system whose blocking lock requests (F_SETLKW) and writes wait on one gate, like callers queued
/// behind a held lock or writing to a device that does not drain; everything else is refused. Counts the handlers waiting now and the most that ever waited at once.
/// </summary>
internal sealed class GateFileSystem : LowLevelFileSystem
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting, _maxWaiting;

    public int Waiting => Volatile.Read(ref _waiting);
    public int MaxWaiting => Volatile.Read(ref _maxWaiting);

    public void Open() => _gate.TrySetResult();

    public override LockKinds ServedLocks => LockKinds.Posix | LockKinds.Flock;

    public override async ValueTask<Errno> SetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, bool wait, bool isFlock, CancellationToken cancellationToken)
    {
        return wait ? await Wait(cancellationToken).ConfigureAwait(false) : Errno.Ok;
    }

    public override async ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        var errno = await Wait(cancellationToken).ConfigureAwait(false);
        return errno.IsOk ? data.Length : errno;
    }

    private async ValueTask<Errno> Wait(CancellationToken cancellationToken)
    {
        int now = Interlocked.Increment(ref _waiting);
        for (int max = Volatile.Read(ref _maxWaiting); now > max; max = Volatile.Read(ref _maxWaiting))
            Interlocked.CompareExchange(ref _maxWaiting, now, max);
        try
        {
            await _gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return Errno.Ok;
        }
        catch (OperationCanceledException)
        {
            return Errno.EINTR;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
