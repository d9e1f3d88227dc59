using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.DirectMmap;

/// <summary>
/// Answers <c>directfuse regions MOUNTPOINT</c>: a Unix socket in the abstract namespace, named after the
/// mount's FUSE connection number, that writes a <see cref="RegionReport"/> as JSON to a client and closes.
/// Read-only; nothing is accepted from the client. Only the server's own user and root get the report (it
/// names share keys and files); others are disconnected without one.
/// </summary>
public sealed partial class RegionReportServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Func<RegionReport> _snapshot;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();

    public RegionReportServer(uint connectionId, Func<RegionReport> snapshot, ILogger? logger = null)
    {
        _snapshot = snapshot;
        _logger = logger ?? NullLogger.Instance;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(EndPoint(connectionId));
        _listener.Listen(8);
        _ = AcceptLoopAsync();
    }

    /// <summary>The socket address for FUSE connection <paramref name="connectionId"/> (a leading NUL: abstract namespace, no file).</summary>
    public static UnixDomainSocketEndPoint EndPoint(uint connectionId) => new("\0directfuse/regions/" + connectionId);

    /// <summary>Fetches the report of the server behind FUSE connection <paramref name="connectionId"/>.</summary>
    public static async Task<string> QueryAsync(uint connectionId, CancellationToken cancellationToken = default)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(EndPoint(connectionId), cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            try
            {
                using (client)
                {
                    if (!MayRead(client)) continue;
                    byte[] json = JsonSerializer.SerializeToUtf8Bytes(_snapshot(), RegionReportJson.Default.RegionReport);
                    await client.SendAsync(json, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                    client.Shutdown(SocketShutdown.Send);
                }
            }
            catch (Exception e)
            {
                // Whatever went wrong with one client (a snapshot failing included) must not end the loop.
                LogClientFailed(_logger, e.Message);
            }
        }
    }

    private static bool MayRead(Socket client)
    {
        const int SolSocket = 1, SoPeerCred = 17;
        Span<byte> cred = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        if (client.GetRawSocketOption(SolSocket, SoPeerCred, cred) < 12) return false;
        uint uid = BitConverter.ToUInt32(cred[4..8]);
        return uid == 0 || uid == Interop.Libc.geteuid();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A regions query failed: {Reason}")]
    private static partial void LogClientFailed(ILogger logger, string reason);
}
