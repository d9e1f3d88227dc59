using System.Net.Sockets;
using System.Text.Json;
using DirectFuse.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.DirectMmap;

/// <summary>
/// Answers <c>directfuse regions MOUNTPOINT</c>: a Unix socket in the abstract namespace, named after the
/// mount's FUSE connection number and a random suffix nobody can take first, that writes a
/// <see cref="RegionReport"/> as JSON to a client and closes. Read-only; nothing is accepted from the client.
/// Only the server's own user and root get the report (it names share keys and files); others are
/// disconnected without one. <see cref="RegionReportClient"/> is the other end.
/// </summary>
public sealed partial class RegionReportServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Func<RegionReport> _snapshot;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();

    /// <summary>
    /// Starts answering for FUSE connection <paramref name="connectionId"/>. Throws <see cref="SocketException"/>
    /// if no socket can be bound, which only a lack of resources can cause: names taken by others do not matter.
    /// </summary>
    public RegionReportServer(uint connectionId, Func<RegionReport> snapshot, ILogger? logger = null)
    {
        _snapshot = snapshot;
        _logger = logger ?? NullLogger.Instance;
        _listener = Bind(connectionId);
        _listener.Listen(8);
        _ = AcceptLoopAsync();
    }

    private static Socket Bind(uint connectionId)
    {
        for (int attempt = 1; ; attempt++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Bind(RegionSocketNames.EndPoint(RegionSocketNames.NewName(connectionId)));
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 3)
            {
                socket.Dispose(); // 128 random bits collided: a broken random source more likely than chance; try again
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
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
                    // A reader that stops reading must not keep the next client waiting for ever.
                    using var sendLimit = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    sendLimit.CancelAfter(RegionReportClient.DefaultTimeout);
                    await client.SendAsync(json, SocketFlags.None, sendLimit.Token).ConfigureAwait(false);
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

    private static bool MayRead(Socket client) =>
        PeerCredentials.Of(client) is { } peer && (peer.Uid == 0 || peer.Uid == Libc.geteuid());

    /// <summary>Stops answering; the name is free again once the listener is closed.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A regions query failed: {Reason}")]
    private static partial void LogClientFailed(ILogger logger, string reason);
}
