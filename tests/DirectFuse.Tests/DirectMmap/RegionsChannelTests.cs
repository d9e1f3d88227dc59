using System.Diagnostics;
using System.Text.Json;
using DirectFuse.Examples.Hello;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>
/// The <c>regions</c> channel under attack by another local user (uid 65534) who binds the socket names a server
/// or client would use, and by a mount owner whose "server" answers with hostile data. Root's
/// <c>directfuse regions</c> must show the real report or a clear error, within its time limit, and never put a
/// control character from the other side on the terminal.
/// </summary>
// The channel is a unix socket between two processes of ours: nothing of it depends on the kernel's FUSE, so
// the 6.1 run in CI (scripts/test.sh) leaves it to the host run, where it takes a tenth of the time.
[Trait("Kernel", "Independent")]
public sealed class RegionsChannelTests
{
    /// <summary>The client's own limit is 5 s; a dotnet start-up on a busy 2-core machine takes the rest.</summary>
    private static readonly TimeSpan PromptAnswer = Patience.Seconds(12);

    private static string NewMountPoint() => Directory.CreateTempSubdirectory("df-regions-").FullName;

    /// <summary>The names a squatter takes for connection <paramref name="id"/>: the old fixed name and names of its prefix.</summary>
    private static IEnumerable<string> NamesFor(uint id, string mode = "forge") =>
    [
        $"forge:directfuse/regions/{id}",
        $"{mode}:directfuse/regions/{id}/{new string('0', 32)}",
        $"silent:directfuse/regions/{id}/{new string('1', 32)}",
        $"stream:directfuse/regions/{id}/{new string('2', 32)}",
    ];

    [Fact]
    public void Names_taken_before_the_server_starts_neither_forge_nor_stall_its_report()
    {
        // Connection numbers are handed out lowest-free first: the one a probe mount just freed comes next,
        // unless a parallel test takes it, so the squatter covers a few beyond it as well.
        uint first;
        using (var probe = TempMount.Create(new HelloFileSystem())) first = probe.Session.ConnectionId!.Value;
        var ids = Enumerable.Range(0, 16).Select(i => first + (uint)i).ToList();
        using var squatter = SocketSquatter.Start(holdFuseDevice: false, ids.SelectMany(id => NamesFor(id)));
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "fmmap", mnt, "--size", "64K");
        server.WaitForMounted();
        Assert.Contains(FuseMounts.ConnectionId(mnt)!.Value, ids); // else the squatter guessed wrong and proved nothing

        var table = Regions(mnt).EnsureSuccess("regions");
        Assert.StartsWith($"{mnt}: {KernelFeatures.DefaultMmapMode}", table.StdOut);
        AssertNothingForged(table);
        var json = Regions(mnt, "--json").EnsureSuccess("regions --json");
        AssertNothingForged(json);
        Assert.Equal(mnt, JsonDocument.Parse(json.StdOut).RootElement.GetProperty("mountPoint").GetString());
        Assert.DoesNotContain("cannot answer", server.StdOut + server.StdErr);
    }

    [Fact]
    public void Names_of_a_dead_server_taken_by_another_user_get_a_clear_error()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "fmmap", mnt, "--size", "64K");
        server.WaitForMounted();
        uint id = FuseMounts.ConnectionId(mnt)!.Value;
        var serverNames = File.ReadAllLines("/proc/net/unix").Where(l => l.Contains($"@directfuse/regions/{id}")).Select(l => l.Split('@')[1]).ToList();
        server.Signal(9); // the mount stays (its connection aborted) and its names are free for anybody
        Assert.True(server.WaitForExit(TimeSpan.FromSeconds(10)));
        using var squatter = SocketSquatter.Start(holdFuseDevice: false,
            NamesFor(id).Concat(serverNames.Where(n => n.Contains($"/{id}/")).Select(n => "forge:" + n)));

        var result = Regions(mnt);
        AssertNothingForged(result);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"no server of '{mnt}' answers: 4 sockets named for it belong to other users (uid 65534)", result.StdErr);
    }

    [Fact]
    public void A_hostile_owners_report_is_printed_escaped_and_rewritten_as_json()
    {
        using var owner = HostileOwnerMount("forge", out string mnt);
        var table = Regions(mnt).EnsureSuccess("regions");
        AssertNoControlCharacters(table);
        Assert.Contains(@"/FORGED\x1b]0;owned\x07\x1b[2J: Passthrough (FORGED \u{202e} reversed \x9b31m)", table.StdOut);
        Assert.Contains(@"uid:0\x1b[31mFORGED", table.StdOut);
        Assert.Contains(@"FORGED\x1b[8m", table.StdOut);

        var json = Regions(mnt, "--json").EnsureSuccess("regions --json");
        AssertNoControlCharacters(json);
        Assert.Contains(@"\u001B]0;owned\u0007", json.StdOut);
        Assert.Equal("/FORGED\u001b]0;owned\u0007\u001b[2J", JsonDocument.Parse(json.StdOut).RootElement.GetProperty("mountPoint").GetString());
    }

    [Theory]
    [InlineData("silent", "did not send its report within")] // a squatter that never answers hung it for ever
    [InlineData("stream", "sent a report larger than 16 MiB")] // endless data drove it to gigabytes and a crash
    public void A_hostile_owner_that_never_finishes_gets_a_clear_error_in_time(string mode, string error)
    {
        using var owner = HostileOwnerMount(mode, out string mnt);
        var result = Regions(mnt);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"the server of '{mnt}' {error}", result.StdErr);
    }

    /// <summary>
    /// A memfs mount of uid 65534 (no report server of its own) and, as the same user and holding /dev/fuse as a
    /// FUSE server does, a squatter answering as <paramref name="mode"/> under the old name and a new one.
    /// </summary>
    private static HostileOwner HostileOwnerMount(string mode, out string mnt)
    {
        mnt = NewMountPoint();
        Run.Process("chown", "65534:65534", mnt).EnsureSuccess("chown");
        var server = CliProcess.StartAsNobody(mnt, "mount", "memfs", mnt);
        try
        {
            server.WaitForMounted();
            Assert.Equal(65534u, FuseMounts.OwnerUid(mnt));
            uint id = FuseMounts.ConnectionId(mnt)!.Value;
            var squatter = SocketSquatter.Start(holdFuseDevice: true, [$"{mode}:directfuse/regions/{id}", $"{mode}:directfuse/regions/{id}/{new string('a', 32)}"]);
            return new HostileOwner(server, squatter);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private sealed class HostileOwner(CliProcess server, SocketSquatter squatter) : IDisposable
    {
        public void Dispose()
        {
            squatter.Dispose();
            server.Dispose();
        }
    }

    /// <summary>Root's <c>directfuse regions MNT</c>, which must end within <see cref="PromptAnswer"/>.</summary>
    private static ProcessResult Regions(string mnt, params string[] options)
    {
        var clock = Stopwatch.StartNew();
        // The query's own limit (5 s) stretches under emulation like every other wait here.
        string timeout = Patience.Seconds(5).TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = Run.Process(CliProcess.Command[0], CliProcess.Command.Skip(1).Concat(["regions", mnt, "--timeout", timeout]).Concat(options), TimeSpan.FromSeconds(30));
        Assert.True(clock.Elapsed < PromptAnswer, $"regions took {clock.Elapsed.TotalSeconds:0.0} s");
        return result;
    }

    private static void AssertNothingForged(ProcessResult result)
    {
        AssertNoControlCharacters(result);
        Assert.DoesNotContain(SocketSquatter.Marker, result.StdOut + result.StdErr);
    }

    private static void AssertNoControlCharacters(ProcessResult result)
    {
        foreach (char c in result.StdOut + result.StdErr)
            Assert.False(char.IsControl(c) && c != '\n', $"control character U+{(int)c:X4} printed:\n{result.StdOut}{result.StdErr}");
    }
}
