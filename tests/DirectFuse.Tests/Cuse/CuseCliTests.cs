using DirectFuse.Cuse;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cuse;

/// <summary>A fact that runs only where the kernel has no CUSE (to check what the command says there).</summary>
public sealed class NoCuseFactAttribute : FactAttribute
{
    public NoCuseFactAttribute()
    {
        if (CuseSession.IsAvailable) Skip = "this kernel has CUSE: the command's refusal cannot be seen here";
    }
}

/// <summary><c>directfuse cuse ossdsp NAME</c>: a real /dev node played through with sox, ended by a signal.</summary>
public sealed class CuseCliTests
{
    [CuseFact]
    public void Cuse_ossdsp_creates_dev_name_plays_bit_exactly_and_goes_on_sigterm()
    {
        string dir = Directory.CreateTempSubdirectory("df-cuse-cli-").FullName;
        string name = $"directfuse-cli-dsp-{Environment.ProcessId}", node = "/dev/" + name;
        string wav = Path.Combine(dir, "out.wav"), input = Path.Combine(dir, "in.wav");
        try
        {
            Run.Process("sox", "-n", "-r", "22050", "-c", "2", "-b", "16", input, "synth", "0.25", "sine", "330").EnsureSuccess("sox synth");
            using (var server = CliProcess.Start(null, "cuse", "ossdsp", name, "--wav", wav))
            {
                var deadline = DateTime.UtcNow + Patience.Seconds(20);
                while (!File.Exists(node) && DateTime.UtcNow < deadline && !server.HasExited) Thread.Sleep(50);
                Assert.True(File.Exists(node), $"{node} did not appear\nstdout: {server.StdOut}\nstderr: {server.StdErr}");
                Run.Process("sox", "-q", input, "-t", "oss", node).EnsureSuccess("sox -t oss");
                server.Signal(15);
                server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
                Assert.Equal(0, server.ExitCode);
            }
            Assert.False(File.Exists(node), $"{node} outlived the server");
            Assert.Equal(File.ReadAllBytes(input), File.ReadAllBytes(wav));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [NoCuseFact]
    public void Without_cuse_the_command_says_so()
    {
        var result = CliProcess.RunToEnd("cuse", "ossdsp", "dsp-test", "--wav", "/tmp/never.wav");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("this kernel has no CUSE", result.StdErr);
        Assert.False(File.Exists("/tmp/never.wav"));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Device_names_that_are_not_names_are_refused(string name)
    {
        var result = CliProcess.RunToEnd("cuse", "ossdsp", name, "--wav", "/tmp/never.wav");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is not a device name", result.StdErr);
    }
}
