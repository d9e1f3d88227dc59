using System.Net.Sockets;
using System.Security.Cryptography;

namespace DirectFuse.DirectMmap;

/// <summary>
/// The names of the regions report sockets: <c>directfuse/regions/CONNID/SUFFIX</c> in the abstract Unix socket
/// namespace, SUFFIX being 128 random bits in 32 lowercase hex digits.
/// </summary>
/// <remarks>
/// Any local user may bind any abstract name (there are no permissions on them), so a fixed name per connection
/// can be taken before the server binds it, or after it dies. A filesystem socket would need a directory that
/// every server user can create in and nobody else can: /run is root's, /tmp is everybody's, and not every user
/// has a runtime directory. A random suffix cannot be guessed, so it cannot be taken first; the client finds the
/// names in /proc/net/unix by the connection's prefix, and since anybody may bind names with that prefix too, it
/// decides whom to believe by the peer's credentials (<see cref="RegionServerPeer"/>), never by the name.
/// </remarks>
internal static class RegionSocketNames
{
    private const int SuffixHexDigits = 32;

    /// <summary>What every name for FUSE connection <paramref name="connectionId"/> starts with (the slash keeps 1 from matching 12).</summary>
    public static string Prefix(uint connectionId) => $"directfuse/regions/{connectionId}/";

    /// <summary>A fresh, unpredictable name for a server of FUSE connection <paramref name="connectionId"/>.</summary>
    public static string NewName(uint connectionId) =>
        Prefix(connectionId) + RandomNumberGenerator.GetHexString(SuffixHexDigits, lowercase: true);

    /// <summary>The socket address of <paramref name="name"/> (a leading NUL: abstract namespace, no file).</summary>
    public static UnixDomainSocketEndPoint EndPoint(string name) => new("\0" + name);

    /// <summary>
    /// The names of listening stream sockets of this network namespace that are well-formed names for FUSE
    /// connection <paramref name="connectionId"/>, at most <paramref name="limit"/> of them; <paramref name="more"/>
    /// tells whether there were others.
    /// </summary>
    public static List<string> Listening(uint connectionId, int limit, out bool more)
    {
        string prefix = "@" + Prefix(connectionId);
        var names = new List<string>();
        more = false;
        foreach (var line in File.ReadLines("/proc/net/unix"))
        {
            // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 is __SO_ACCEPTCON (listening), Type 0001 is SOCK_STREAM.
            // The path is last and may hold spaces; an abstract name shows its leading NUL as '@'.
            var fields = line.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 8 || fields[3] != "00010000" || fields[4] != "0001") continue;
            string path = fields[7];
            if (!path.StartsWith(prefix, StringComparison.Ordinal) || !IsSuffix(path.AsSpan(prefix.Length))) continue;
            if (names.Count == limit)
            {
                more = true;
                break;
            }
            names.Add(path[1..]);
        }
        return names;
    }

    private static bool IsSuffix(ReadOnlySpan<char> s) =>
        s.Length == SuffixHexDigits && !s.ContainsAnyExcept("0123456789abcdef");
}
