using System.Collections.Concurrent;

namespace DirectFuse.Session;

/// <summary>
/// Request objects with their buffers. Also the registry INTERRUPT searches: every object ever made is in
/// <see cref="All"/>, so finding the request an interrupt names needs no table update per request.
/// </summary>
internal sealed class RequestPool(int inSize, int outSize)
{
    private readonly ConcurrentBag<FuseRequest> _free = new();
    private volatile FuseRequest[] _all = [];
    private readonly Lock _growLock = new();

    public int InSize => inSize;
    public int OutSize => outSize;
    public IReadOnlyList<FuseRequest> All => _all;

    public FuseRequest Rent()
    {
        if (_free.TryTake(out var request)) return request;
        request = new FuseRequest(inSize, outSize);
        lock (_growLock) _all = [.. _all, request];
        return request;
    }

    public void Return(FuseRequest request) => _free.Add(request);
}
