using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// Both builds of <c>directfuse</c> serve for real: the shipped one, a Native AOT binary that the repository's
/// <c>./directfuse</c> script publishes and runs, and the JIT build run with <c>dotnet</c>.
/// </summary>
public sealed class ShippedBuildTests
{
    private const int SIGTERM = 15;

    private static string AotBinary => Path.Combine(CliProcess.RepositoryRoot, "src", "DirectFuse.Cli", "bin", "aot", "directfuse");

    /// <summary>Creates, stats and reads a file through the mount.</summary>
    private static void UseTheMount(string mnt)
    {
        var r = Run.Shell("stat -c %F . && printf 'native bytes' > f && stat -c %s f && cat f", mnt).EnsureSuccess("create, stat and read");
        Assert.Equal("directory\n12\nnative bytes", r.StdOut);
    }

    /// <summary>Whether the process has the JIT compiler mapped: every JIT-run .NET process does, a Native AOT one never.</summary>
    private static bool HasJit(int pid) => File.ReadAllText($"/proc/{pid}/maps").Contains("libclrjit.so", StringComparison.Ordinal);

    [Fact]
    public void The_repository_script_runs_the_native_binary_which_mounts_serves_and_unmounts_memfs()
    {
        string script = Path.Combine(CliProcess.RepositoryRoot, "directfuse");
        string mnt = Directory.CreateTempSubdirectory("df-aot-").FullName;
        // The script publishes first if the sources changed since the last publish (scripts/test.sh has done so).
        using var server = CliProcess.StartWith([script], mnt, "mount", "memfs", mnt);
        server.WaitForMounted(TimeSpan.FromMinutes(15));

        // The script execs the binary: the server is the native executable itself, without the runtime's JIT.
        Assert.Equal(AotBinary, File.ResolveLinkTarget($"/proc/{server.Pid}/exe", returnFinalTarget: false)?.FullName);
        Assert.False(HasJit(server.Pid), "the shipped directfuse has the JIT loaded");
        UseTheMount(mnt);

        Run.Process("bash", [script, "unmount", mnt], TimeSpan.FromSeconds(60)).EnsureSuccess("./directfuse unmount");
        server.AssertExits(TimeSpan.FromSeconds(20), "./directfuse unmount");
        Assert.Equal(0, server.ExitCode);
        Assert.Contains("unmounted", server.StdOut);
        Assert.False(Mounts.IsFuseMounted(mnt));
    }

    [Fact]
    public void The_JIT_build_still_mounts_serves_and_unmounts_memfs()
    {
        string mnt = Directory.CreateTempSubdirectory("df-jit-").FullName;
        using var server = CliProcess.StartWith(["dotnet", CliProcess.DllPath], mnt, "mount", "memfs", mnt);
        server.WaitForMounted();
        Assert.True(HasJit(server.Pid), "the JIT build runs without the JIT?");
        UseTheMount(mnt);

        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
        Assert.Equal(0, server.ExitCode);
        Assert.False(Mounts.IsFuseMounted(mnt));
    }
}
