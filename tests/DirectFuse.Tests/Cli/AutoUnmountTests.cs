using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// auto_unmount over a RAM-backed path: a warning for file systems, and for a device (whose clients would write
/// into memory once the server is gone) a refusal unless forced.
/// </summary>
public sealed class AutoUnmountTests
{
    private const int SIGTERM = 15;

    [Fact]
    public void Auto_unmount_on_tmpfs_warns_in_one_line()
    {
        string mnt = Directory.CreateDirectory($"/dev/shm/df-au-{Guid.NewGuid():N}").FullName;
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "-o", "auto_unmount");
        server.WaitForMounted();
        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(10), "SIGTERM");
        Assert.Equal(0, server.ExitCode);
        Assert.Equal(
            $"directfuse: warning: auto_unmount on '{mnt}', which is on tmpfs (RAM): if the server dies, writes meant for the mount go to tmpfs underneath and take memory",
            server.StdErr.Trim());
    }

    [Fact]
    public void Auto_unmount_on_a_disk_file_system_does_not_warn()
    {
        if (RamBacked(Path.GetTempPath())) return; // this machine's temp directory is in RAM: nothing to compare
        string mnt = Directory.CreateTempSubdirectory("df-au-").FullName;
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "-o", "auto_unmount");
        server.WaitForMounted();
        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(10), "SIGTERM");
        Assert.Equal(0, server.ExitCode);
        Assert.Equal("", server.StdErr.Trim());
    }

    [Fact]
    public void Ossdsp_refuses_auto_unmount_in_dev_before_creating_anything()
    {
        string device = $"/dev/df-test-dsp-{Guid.NewGuid():N}";
        string wav = Path.Combine(Path.GetTempPath(), $"df-au-{Guid.NewGuid():N}.wav");
        var result = CliProcess.RunToEnd("mount", "ossdsp", device, "--wav", wav, "-o", "auto_unmount");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"directfuse: auto_unmount on device path '{device}' (devtmpfs, in RAM) would let clients write into memory once the server is gone; "
            + "without it they get ENOTCONN until 'directfuse unmount' (use --force-auto-unmount to mount anyway)",
            result.StdErr.Trim());
        Assert.False(File.Exists(device), "the device file was created");
        Assert.False(File.Exists(wav), "the WAV file was created");
    }

    [Fact]
    public void Ossdsp_in_dev_mounts_without_auto_unmount_and_with_it_when_forced()
    {
        string device = $"/dev/df-test-dsp-{Guid.NewGuid():N}";
        string wav = Path.Combine(Path.GetTempPath(), $"df-au-{Guid.NewGuid():N}.wav");
        try
        {
            foreach (var extra in new[] { Array.Empty<string>(), ["-o", "auto_unmount", "--force-auto-unmount"] })
            {
                using var server = CliProcess.Start(device, ["mount", "ossdsp", device, "--wav", wav, .. extra]);
                server.WaitForMounted();
                server.Signal(SIGTERM);
                server.AssertExits(TimeSpan.FromSeconds(10), "SIGTERM");
                Assert.Equal(0, server.ExitCode);
                Assert.False(Mounts.IsFuseMounted(device));
                string warning = $"directfuse: warning: auto_unmount on '{device}', which is on devtmpfs (RAM): if the server dies, writes meant for the mount go to devtmpfs underneath and take memory";
                if (extra.Length == 0) Assert.DoesNotContain("auto_unmount", server.StdErr);
                else Assert.Contains(warning, server.StdErr);
            }
        }
        finally
        {
            File.Delete(device);
            File.Delete(wav);
        }
    }

    private static bool RamBacked(string path) =>
        Run.Process("stat", "-f", "-c", "%T", path).StdOut.Trim() is "tmpfs" or "ramfs";
}
