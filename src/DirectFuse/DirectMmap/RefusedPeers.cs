using DirectFuse.Interop;

namespace DirectFuse.DirectMmap;

/// <summary>The sockets named for a mount that a <c>regions</c> client would not believe, told in one line.</summary>
internal sealed class RefusedPeers
{
    private readonly SortedSet<uint> _otherUids = [];
    private readonly SortedSet<int> _notFuseServers = [];
    private int _otherUsers, _notFuse, _noCredentials;

    /// <summary>Sockets that vanished or whose listener's queue was full.</summary>
    public int Unreachable { get; set; }

    /// <summary>Counts a socket whose listener <paramref name="peer"/> failed the check for <paramref name="rejection"/>.</summary>
    public void Add(RegionServerPeer.Rejection rejection, PeerCredentials? peer)
    {
        switch (rejection)
        {
            case RegionServerPeer.Rejection.OtherUser:
                _otherUsers++;
                _otherUids.Add(peer!.Value.Uid);
                break;
            case RegionServerPeer.Rejection.NoFuseDevice:
                _notFuse++;
                _notFuseServers.Add(peer!.Value.Pid);
                break;
            default:
                _noCredentials++;
                break;
        }
    }

    /// <summary>Like "2 sockets named for it belong to other users (uid 65534)".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (_otherUsers > 0) parts.Add($"{Sockets(_otherUsers)} named for it belong to other users (uid {string.Join(", ", _otherUids)})");
        if (_notFuse > 0) parts.Add($"{Sockets(_notFuse)} named for it belong to processes that serve no FUSE mount (pid {string.Join(", ", _notFuseServers)})");
        if (_noCredentials > 0) parts.Add($"{Sockets(_noCredentials)} named for it show no credentials");
        if (Unreachable > 0) parts.Add($"{Sockets(Unreachable)} named for it did not accept a connection");
        return string.Join("; ", parts);
    }

    private static string Sockets(int n) => n == 1 ? "1 socket" : $"{n} sockets";
}
