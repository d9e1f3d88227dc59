using System.Net.Sockets;

namespace DirectFuse.Interop;

/// <summary>
/// The other end of a connected Unix socket as the kernel recorded it (SO_PEERCRED): for a client, the process
/// that called listen(2) and its ids at that moment, so a peer cannot claim to be somebody else.
/// </summary>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    /// <summary>The credentials of <paramref name="socket"/>'s peer, or null if the kernel gives none.</summary>
    public static PeerCredentials? Of(Socket socket)
    {
        const int SoPeerCred = 17;
        Span<byte> cred = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        if (socket.GetRawSocketOption(Libc.SOL_SOCKET, SoPeerCred, cred) < 12) return null;
        return new PeerCredentials(BitConverter.ToInt32(cred[..4]), BitConverter.ToUInt32(cred[4..8]), BitConverter.ToUInt32(cred[8..12]));
    }
}
