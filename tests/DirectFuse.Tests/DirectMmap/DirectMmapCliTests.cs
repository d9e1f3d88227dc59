using System.Text.Json;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>The direct-mmap commands as users run them: fmmap and shmfs servers, the regions report, unprivileged servers.</summary>
public sealed class DirectMmapCliTests
{
    /// <summary>The regions query's time limit, stretched where the machine is slow (emulated kernels).</summary>
    private static readonly string RegionsTimeout = Patience.Seconds(5).TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string NewMountPoint() => Directory.CreateTempSubdirectory("df-cli-").FullName;

    [Fact]
    public void Regions_reports_each_region_and_the_totals()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "fmmap", mnt, "--size", "256K", "--quota", "1M");
        server.WaitForMounted();
        Assert.Contains(KernelFeatures.DefaultMmapMode.ToString(), server.StdOut);
        using var client = MmapClientProcess.Start();
        client.Ok($"open {mnt}/buffer");
        client.Ok($"map {256 * 1024}");
        client.Ok("write 0 x");
        client.Ok("write 8192 y");
        var json = CliProcess.RunToEnd("regions", mnt, "--json", "--timeout", RegionsTimeout).EnsureSuccess("regions --json").StdOut;
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(KernelFeatures.DefaultMmapMode.ToString(), root.GetProperty("mode").GetString());
        Assert.Equal(1 << 20, root.GetProperty("quota").GetInt64());
        Assert.Equal(256 * 1024, root.GetProperty("reserved").GetInt64());
        var region = Assert.Single(root.GetProperty("regions").EnumerateArray());
        Assert.Equal("uid:0", region.GetProperty("shareKey").GetString());
        Assert.Equal(1, region.GetProperty("clientOpens").GetInt32());
        // Two pages touched; through the page-cache mirror the kernel's read-ahead touches more of the region.
        long resident = region.GetProperty("resident").GetInt64();
        if (KernelFeatures.Passthrough) Assert.Equal(2 * 4096, resident);
        else Assert.InRange(resident, 2 * 4096, 256 * 1024);
        var table = CliProcess.RunToEnd("regions", mnt, "--timeout", RegionsTimeout).EnsureSuccess("regions").StdOut;
        Assert.Contains("uid:0", table);
        Assert.Contains($"1 regions; reserved 256K of 1M quota; resident {(KernelFeatures.Passthrough ? "8K" : ByteSizeText(resident))}", table);
        // Other users are not shown who maps what.
        var stranger = Run.AsNobody("env", ["HOME=/tmp", "DOTNET_CLI_HOME=/tmp", .. CliProcess.Command, "regions", mnt, "--timeout", RegionsTimeout]);
        Assert.Equal(1, stranger.ExitCode);
        Assert.Contains("only to its owner and root", stranger.StdErr);
    }

    [Fact]
    public void Regions_of_something_else_is_a_clear_error()
    {
        var result = CliProcess.RunToEnd("regions", Path.GetTempPath());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is not a FUSE mount point", result.StdErr);
    }

    [Fact]
    public void An_unprivileged_fmmap_server_uses_the_page_cache_and_a_users_processes_share()
    {
        string mnt = NewMountPoint();
        Run.Process("chown", "65534:65534", mnt).EnsureSuccess("chown");
        var psi = new System.Diagnostics.ProcessStartInfo("setpriv") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", .. CliProcess.Command,
                     "mount", "fmmap", mnt, "--size", "64K", "--sync-interval", "50"])
            psi.ArgumentList.Add(a);
        using var server = System.Diagnostics.Process.Start(psi)!;
        try
        {
            string line = server.StandardOutput.ReadLine() ?? server.StandardError.ReadToEnd();
            Assert.Contains("mounted on", line);
            Assert.Contains("PageCache", line); // no CAP_SYS_ADMIN: the fallback, reported at start
            using var a = MmapClientProcess.Start(asNobody: true);
            using var b = MmapClientProcess.Start(asNobody: true);
            a.Ok($"open {mnt}/buffer");
            a.Ok("map 65536");
            b.Ok($"open {mnt}/buffer");
            b.Ok("map 65536");
            a.Ok("write 0 shared-by-uid");
            Assert.Equal("shared-by-uid", b.Ok("read 0 13")); // one node, one page cache
            var json = Run.AsNobody("env", ["HOME=/tmp", "DOTNET_CLI_HOME=/tmp", .. CliProcess.Command, "regions", mnt, "--json", "--timeout", RegionsTimeout]).EnsureSuccess("regions");
            Assert.Contains("\"mode\": \"PageCache\"", json.StdOut);
            Assert.Contains("uid:65534", json.StdOut);
        }
        finally
        {
            Run.AsNobody("fusermount3", "-u", mnt);
            if (!server.WaitForExit(Patience.Milliseconds(10_000))) server.Kill();
            Mounts.ForceUnmount(mnt);
            Directory.Delete(mnt);
        }
    }

    [Fact]
    public void Shmfs_command_serves_files_as_regions_within_its_quota()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "shmfs", mnt, "--quota", "128K");
        server.WaitForMounted();
        Run.Shell($"echo data > '{mnt}/f' && test \"$(cat '{mnt}/f')\" = data").EnsureSuccess("write and read");
        var full = Run.Shell($"head -c 200000 /dev/zero > '{mnt}/big'");
        Assert.Contains("Disk quota exceeded", full.StdErr);
        var table = CliProcess.RunToEnd("regions", mnt, "--timeout", RegionsTimeout).EnsureSuccess("regions").StdOut;
        Assert.Contains("/f", table);
    }

    /// <summary>A byte count as the regions table prints it (whole KiB below a MiB here).</summary>
    private static string ByteSizeText(long bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20}M" : $"{bytes >> 10}K";
}
