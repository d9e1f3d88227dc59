using DirectFuse.Examples.Fmmap;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Security;

/// <summary>
/// fmmap's per-uid regions stay apart while root and nobody open, map, write and close <c>buffer</c> at the
/// same time, over and over: regions are created on a uid's first open and freed after its last release, so
/// the opens race with each other's creation and destruction.
/// </summary>
public sealed class FmmapCrossUidTests
{
    private const long Size = 1 << 20;
    private const int Rounds = 150;

    /// <summary>
    /// argv: path, marker, rounds. Each round opens and maps the buffer, expects at offset 0 either its uid's
    /// marker or zeros (a fresh region), writes the marker and reads it back through the mapping and read(2).
    /// Prints "foreign N" with N the rounds that saw anything else.
    /// </summary>
    private const string Client = """
        import mmap, os, sys
        path, marker, rounds = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
        size, foreign, seen = 1 << 20, 0, []
        for i in range(rounds):
            fd = os.open(path, os.O_RDWR)
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED)
            head = mm[0:len(marker)]
            if head not in (marker, bytes(len(marker))):
                foreign += 1; seen.append(head)
            mm[0:len(marker)] = marker
            if mm[0:len(marker)] != marker or os.pread(fd, len(marker), 0) != marker:
                foreign += 1; seen.append(os.pread(fd, len(marker), 0))
            mm.close(); os.close(fd)
        print(f'foreign {foreign} {seen[:3]}')
        """;

    [Fact]
    public void Root_and_nobody_racing_opens_and_maps_each_see_only_their_own_bytes()
    {
        var fs = new FmmapFileSystem(Size);
        using var m = TempMount.Create(fs, new FuseSessionOptions { Mount = new MountOptions { Subtype = "fmmap", AllowOther = true } });
        string buffer = m[FmmapFileSystem.FileName];
        // Two processes per uid: processes of one uid share a region (same marker), the uids must not.
        var clients = new[] { (Caller.Root, "root-bytes-00000"), (Caller.Root, "root-bytes-00000"), (Caller.NobodyWithoutGroups, "nobody-bytes-111"), (Caller.NobodyWithoutGroups, "nobody-bytes-111") }
            .Select(c => Task.Run(() => (c.Item1, CallerProcess.Python(c.Item1, Client, buffer, c.Item2, Rounds.ToString()))))
            .ToArray();
        Task.WaitAll(clients);
        foreach (var (caller, result) in clients.Select(t => t.Result))
            Assert.Equal("foreign 0 []", result.EnsureSuccess($"{caller} client").StdOut.Trim());
    }
}
