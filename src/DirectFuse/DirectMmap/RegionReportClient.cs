using System.Net.Sockets;
using System.Text.Json;
using DirectFuse.Interop;
using DirectFuse.Session;
using DirectFuse.Transport;

namespace DirectFuse.DirectMmap;

/// <summary>
/// Fetches the <see cref="RegionReport"/> of the fmmap or shmfs server of a mount (<c>directfuse regions</c>).
/// Everything that answers is treated as hostile until its credentials say otherwise, and even then it gets a
/// time limit and a size limit.
/// </summary>
public static class RegionReportClient
{
    /// <summary>The longest a query may take by default, finding, connecting and reading included.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The largest report accepted, in bytes: room for some 60,000 regions.</summary>
    public const int MaxReportBytes = 16 << 20;

    /// <summary>
    /// At most this many sockets named for a mount are tried. Each costs a non-blocking connect and a
    /// getsockopt, so the bound keeps a flood of squatted names from costing more than a moment; a user who
    /// binds more than this many names for one mount can make the query fail, but never answer it.
    /// </summary>
    private const int MaxCandidates = 1024;

    /// <summary>
    /// The report of the server of <paramref name="mountPoint"/>. Throws <see cref="RegionReportException"/> if
    /// no process that may serve the mount answers, or its answer is later than <paramref name="timeout"/>
    /// (default <see cref="DefaultTimeout"/>), too large or not a report.
    /// </summary>
    public static async Task<RegionReport> QueryAsync(string mountPoint, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? DefaultTimeout;
        string path = Path.GetFullPath(mountPoint);
        if (FuseMounts.ConnectionId(path) is not { } id) throw new RegionReportException($"'{path}' is not a FUSE mount point");
        uint owner = FuseMounts.OwnerUid(path) ?? 0; // no user_id= option: believe root only
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        try
        {
            return await QueryAsync(path, id, owner, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RegionReportException($"the server of '{path}' did not send its report within {limit.TotalSeconds:0.#} s");
        }
    }

    private static async Task<RegionReport> QueryAsync(string path, uint id, uint owner, CancellationToken cancellationToken)
    {
        var names = RegionSocketNames.Listening(id, MaxCandidates, out bool more);
        var refused = new RefusedPeers();
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var socket = TryConnect(name);
            if (socket is null)
            {
                refused.Unreachable++;
                continue;
            }
            // Who listens is known before a byte is read, so nobody else's bytes are ever read.
            var peer = PeerCredentials.Of(socket);
            var rejection = RegionServerPeer.Check(peer, owner);
            if (rejection != RegionServerPeer.Rejection.None)
            {
                refused.Add(rejection, peer);
                continue;
            }
            var json = await ReadBoundedAsync(socket, path, cancellationToken).ConfigureAwait(false);
            if (json.Length == 0)
                throw new RegionReportException($"the server of '{path}' does not show its regions to this user (only to its owner and root)");
            return Parse(json.Span, path);
        }
        throw new RegionReportException(names.Count == 0
            ? $"no direct-mmap server answers for '{path}' (is it an fmmap or shmfs mount of this machine?)"
            : $"no server of '{path}' answers: {refused.Describe()}{(more ? $" (only the first {MaxCandidates} were tried)" : "")}");
    }

    /// <summary>A connected socket, or null if the name is gone or its listener's queue is full (a non-blocking connect never waits).</summary>
    private static Socket? TryConnect(string name)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            socket.Connect(RegionSocketNames.EndPoint(name));
            socket.Blocking = true;
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(Socket socket, string path, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length) Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxReportBytes + 1));
            int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0) return buffer.AsMemory(0, length);
            length += n;
            if (length > MaxReportBytes)
                throw new RegionReportException($"the server of '{path}' sent a report larger than {MaxReportBytes >> 20} MiB");
        }
    }

    private static RegionReport Parse(ReadOnlySpan<byte> json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize(json, RegionReportJson.Default.RegionReport)
                ?? throw new JsonException("the report is null");
        }
        catch (JsonException e)
        {
            throw new RegionReportException($"the server of '{path}' sent something that is not a region report: {e.Message}");
        }
    }
}
