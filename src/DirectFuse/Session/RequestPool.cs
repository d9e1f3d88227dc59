namespace DirectFuse.Session;

/// <summary>
/// Request objects and the workers' read buffers, and the registry INTERRUPT searches.
/// </summary>
/// <remarks>
/// Only the slow path comes here: a worker keeps its request object and read buffer for as long as handlers
/// complete synchronously, and rents a new pair only when a handler goes asynchronous and keeps its own. So a
/// lock is cheap enough, and it lets the pool give memory back: when a burst of waiting requests ends, idle
/// objects beyond <see cref="MaxIdleRequests"/> and read buffers beyond <see cref="MaxIdleReadBuffers"/> are
/// dropped (and leave the registry) instead of being kept for good.
/// </remarks>
internal sealed class RequestPool(int inSize, int outSize)
{
    /// <summary>Idle request objects kept for the next burst (about 3 KiB each).</summary>
    public const int MaxIdleRequests = 64;
    /// <summary>Idle read buffers kept (max_write + 4 KiB each, pinned).</summary>
    public const int MaxIdleReadBuffers = 2;

    private readonly Lock _lock = new();
    private readonly Stack<FuseRequest> _idle = new();
    private readonly Stack<byte[]> _idleReadBuffers = new();
    // Every object rented out or idle; an object's RegistryIndex is its place here (swap-remove on drop).
    private readonly List<FuseRequest> _live = [];

    /// <summary>Size of a read buffer: the kernel refuses reads into less than max_write + 4 KiB.</summary>
    public int InSize => inSize;
    /// <summary>The largest reply, header included.</summary>
    public int OutSize => outSize;

    /// <summary>Request objects in existence (rented or idle).</summary>
    public int Count { get { lock (_lock) return _live.Count; } }

    /// <summary>Spare read buffers kept now (not a worker's, not held by a waiting request).</summary>
    public int IdleReadBuffers { get { lock (_lock) return _idleReadBuffers.Count; } }

    public FuseRequest Rent()
    {
        lock (_lock)
        {
            if (_idle.TryPop(out var request)) return request;
            request = new FuseRequest(outSize) { RegistryIndex = _live.Count };
            _live.Add(request);
            return request;
        }
    }

    /// <summary>Takes back a request whose handler is done, with any buffer it still holds.</summary>
    public void Return(FuseRequest request)
    {
        if (request.Release() is { } readBuffer) ReturnReadBuffer(readBuffer);
        lock (_lock)
        {
            if (_idle.Count < MaxIdleRequests)
            {
                _idle.Push(request);
                return;
            }
            int index = request.RegistryIndex, last = _live.Count - 1;
            _live[index] = _live[last];
            _live[index].RegistryIndex = index;
            _live.RemoveAt(last);
            request.RegistryIndex = -1;
        }
    }

    public byte[] RentReadBuffer()
    {
        lock (_lock)
            if (_idleReadBuffers.TryPop(out var buffer)) return buffer;
        // Pinned: read(2) fills it from /dev/fuse; it lives as long as its worker.
        return GC.AllocateUninitializedArray<byte>(inSize, pinned: true);
    }

    public void ReturnReadBuffer(byte[] buffer)
    {
        lock (_lock)
            if (_idleReadBuffers.Count < MaxIdleReadBuffers) _idleReadBuffers.Push(buffer);
    }

    /// <summary>Cancels the handler serving <paramref name="unique"/>, if one is; false if none is (yet).</summary>
    public bool TryInterrupt(ulong unique)
    {
        if (unique == 0) return false; // what idle objects report
        FuseRequest? target = null;
        lock (_lock)
            foreach (var request in _live)
                if (request.ActiveUnique == unique) { target = request; break; }
        // Cancelled outside the lock: cancellation callbacks may complete the handler, and its request then
        // comes back here. TryInterrupt checks again that the object still serves this unique id.
        return target is not null && target.TryInterrupt(unique);
    }

    /// <summary>Cancels every handler still running (the connection ended).</summary>
    public void InterruptAll()
    {
        FuseRequest[] live;
        lock (_lock) live = [.. _live];
        foreach (var request in live)
            if (request.ActiveUnique is var unique and not 0) request.TryInterrupt(unique);
    }
}
