using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

/// <summary>
/// Messages the server sends to the kernel on its own initiative. Each returns the kernel's verdict as an
/// errno (ENOENT when the kernel does not know the node, ENOSYS before INIT).
/// </summary>
/// <remarks>
/// Invalidating an inode or entry from inside a handler for that same inode can deadlock: the kernel may be
/// holding the inode lock while it waits for that handler. Send such notifications from another task.
/// </remarks>
public sealed class FuseNotifier
{
    private readonly FuseSessionCore _core;
    private readonly ConcurrentDictionary<ulong, PendingRetrieve> _retrieves = new();
    private long _nextRetrieveId;

    internal FuseNotifier(FuseSessionCore core) => _core = core;

    /// <summary>Drops cached data of <paramref name="node"/> from <paramref name="offset"/> for <paramref name="length"/> bytes (0: to the end; negative offset: attributes only).</summary>
    public Errno InvalidateInode(NodeId node, long offset = 0, long length = 0) =>
        Send(FuseNotifyCode.InvalInode, new FuseNotifyInvalInodeOut { Ino = node.Value, Off = offset, Len = length }, default);

    /// <summary>Drops the cached name <paramref name="name"/> in <paramref name="parent"/>.</summary>
    public Errno InvalidateEntry(NodeId parent, string name, bool expireOnly = false)
    {
        var utf8 = NameBytes(name);
        const uint ExpireOnly = 1;
        return Send(FuseNotifyCode.InvalEntry,
            new FuseNotifyInvalEntryOut { Parent = parent.Value, NameLen = (uint)(utf8.Length - 1), Flags = expireOnly ? ExpireOnly : 0 }, utf8);
    }

    /// <summary>Tells the kernel that <paramref name="name"/> (node <paramref name="child"/>) was removed from <paramref name="parent"/>.</summary>
    public Errno Delete(NodeId parent, NodeId child, string name)
    {
        var utf8 = NameBytes(name);
        return Send(FuseNotifyCode.Delete,
            new FuseNotifyDeleteOut { Parent = parent.Value, Child = child.Value, NameLen = (uint)(utf8.Length - 1) }, utf8);
    }

    /// <summary>Puts <paramref name="data"/> into the page cache of <paramref name="node"/> at <paramref name="offset"/> (and grows its size to cover it).</summary>
    public Errno Store(NodeId node, long offset, ReadOnlySpan<byte> data) =>
        Send(FuseNotifyCode.Store, new FuseNotifyStoreOut { NodeId = node.Value, Offset = (ulong)offset, StoreSize = (uint)data.Length }, data);

    /// <summary>Wakes the poll(2) waiters registered with poll handle <paramref name="pollHandle"/>.</summary>
    public Errno PollWakeup(ulong pollHandle) =>
        Send(FuseNotifyCode.Poll, new FuseNotifyPollWakeupOut { Kh = pollHandle }, default);

    /// <summary>
    /// Reads back the page cache of <paramref name="node"/> (including clients' unsynced writes through
    /// mmap) into <paramref name="destination"/>. Returns the number of bytes the kernel had cached
    /// contiguously from <paramref name="offset"/> (0 for pages never faulted in).
    /// </summary>
    public async Task<int> RetrieveAsync(NodeId node, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextRetrieveId);
        var pending = new PendingRetrieve(destination);
        _retrieves[id] = pending;
        try
        {
            var errno = Send(FuseNotifyCode.Retrieve,
                new FuseNotifyRetrieveOut { NotifyUnique = id, NodeId = node.Value, Offset = (ulong)offset, RetrieveSize = (uint)destination.Length }, default);
            if (!errno.IsOk) throw new FuseException(errno, $"NOTIFY_RETRIEVE of node {node} failed: {errno}");
            using var registration = cancellationToken.Register(static p => ((PendingRetrieve)p!).Cancel(), pending);
            return await pending.Completion.Task.ConfigureAwait(false);
        }
        finally
        {
            _retrieves.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Retrieves [<paramref name="start"/>, +<paramref name="length"/>) of <paramref name="node"/>'s page cache,
    /// however the kernel cuts it: each answer holds the bytes cached contiguously from its offset (at most
    /// max_write), so the loop goes on from where the answer ended and steps over a page the kernel does not
    /// cache. <paramref name="onData"/> gets each piece at its offset — an empty piece for an uncached page —
    /// while it is valid (it lives in <paramref name="scratch"/>). Returns false if the kernel no longer knows
    /// the node (ENOENT).
    /// </summary>
    public async Task<bool> RetrieveRangeAsync(NodeId node, long start, long length, Memory<byte> scratch, Action<long, ReadOnlyMemory<byte>> onData, CancellationToken cancellationToken = default)
    {
        long page = Environment.SystemPageSize, end = start + length;
        for (long at = start; at < end;)
        {
            int want = (int)Math.Min(scratch.Length, end - at);
            int got;
            try
            {
                got = await RetrieveAsync(node, at, scratch[..want], cancellationToken).ConfigureAwait(false);
            }
            catch (FuseException e) when (e.Errno == Errno.ENOENT)
            {
                return false;
            }
            onData(at, scratch[..got]);
            at = got > 0 ? at + got : (at / page + 1) * page;
        }
        return true;
    }

    internal void CompleteRetrieve(ulong id, long offset, ReadOnlySpan<byte> data)
    {
        if (!_retrieves.TryRemove(id, out var pending)) return; // cancelled meanwhile
        pending.Complete(data);
    }

    /// <summary>Fails every pending retrieve: the connection is gone.</summary>
    internal void FailPending()
    {
        foreach (var id in _retrieves.Keys)
            if (_retrieves.TryRemove(id, out var pending))
                pending.Completion.TrySetException(new FuseException(Errno.ENOTCONN, "The FUSE connection ended."));
    }

    private Errno Send<T>(FuseNotifyCode code, in T body, ReadOnlySpan<byte> tail) where T : unmanaged
    {
        var channel = _core.ControlChannel;
        if (channel is null || !_core.Initialized) return Errno.ENOSYS;
        int bodySize = Marshal.SizeOf<T>();
        Span<byte> head = stackalloc byte[FuseOutHeader.Size + bodySize];
        var header = new FuseOutHeader { Len = (uint)(head.Length + tail.Length), Error = (int)code, Unique = 0 };
        MemoryMarshal.Write(head, in header);
        MemoryMarshal.Write(head[FuseOutHeader.Size..], in body);
        int rc = channel.Write(head, tail);
        if (rc != 0) return new Errno(-rc);
        _core.Metrics.Notified(code);
        return Errno.Ok;
    }

    private static byte[] NameBytes(string name)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(name) + 1];
        Encoding.UTF8.GetBytes(name, bytes);
        return bytes;
    }

    /// <summary>A retrieve in flight. Completion and cancellation exclude each other, so once the caller was
    /// told "cancelled" (and may reuse its buffer) a late reply copies nothing into it.</summary>
    private sealed class PendingRetrieve(Memory<byte> destination)
    {
        private readonly Lock _lock = new();
        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Complete(ReadOnlySpan<byte> data)
        {
            lock (_lock)
            {
                if (Completion.Task.IsCompleted) return;
                int n = Math.Min(data.Length, destination.Length);
                data[..n].CopyTo(destination.Span);
                Completion.TrySetResult(n);
            }
        }

        public void Cancel()
        {
            lock (_lock) Completion.TrySetCanceled();
        }
    }
}
