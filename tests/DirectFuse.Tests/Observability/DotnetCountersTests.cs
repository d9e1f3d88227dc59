using System.Diagnostics;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Observability;

/// <summary>
/// The meter as an operator sees it: <c>dotnet-counters</c> (installed from NuGet into a scratch tool path)
/// attaches to a running <c>directfuse</c> mount through the runtime's diagnostics port and reads the DirectFuse
/// instruments while coreutils use the mount. The shipped CLI is the Native AOT build, where EventSource (the
/// transport of these counters) must be kept on explicitly.
/// </summary>
public sealed class DotnetCountersTests
{
    // The version NuGet serves here (see .library/env/packages): pinned, so the install resolves nothing else.
    private const string CountersVersion = "10.0.750501";

    [Fact]
    public void Dotnet_counters_reads_the_DirectFuse_meter_of_a_running_mount()
    {
        string tools = Directory.CreateTempSubdirectory("df-counters-").FullName;
        string mnt = Directory.CreateTempSubdirectory("df-counters-mnt-").FullName;
        string output = Path.Combine(tools, "counters.json");
        try
        {
            Run.Process("dotnet", ["tool", "install", "--tool-path", tools, "dotnet-counters", "--version", CountersVersion], TimeSpan.FromMinutes(4))
                .EnsureSuccess("dotnet tool install dotnet-counters");
            using var server = CliProcess.Start(mnt, "mount", "memfs", mnt);
            server.WaitForMounted();
            var psi = new ProcessStartInfo(Path.Combine(tools, "dotnet-counters"),
                ["collect", "-p", server.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--counters", "DirectFuse",
                 "--format", "json", "-o", output, "--refresh-interval", "1", "--duration", "00:00:06"])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            using var collect = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet-counters");
            var stdout = collect.StandardOutput.ReadToEndAsync();
            var stderr = collect.StandardError.ReadToEndAsync();
            try
            {
                // Requests for the whole collection: the counters report what happened in each interval.
                int round = 0;
                while (!collect.HasExited && round < 200)
                {
                    Run.Shell($"echo {round} > '{mnt}/f{round % 5}' && cat '{mnt}/f{round % 5}' > /dev/null && ! stat '{mnt}/missing' 2>/dev/null").EnsureSuccess("use the mount");
                    Thread.Sleep(100);
                    round++;
                }
                Assert.True(collect.WaitForExit(Patience.Milliseconds(30_000)), "dotnet-counters did not end after its duration");
            }
            finally
            {
                if (!collect.HasExited) collect.Kill(entireProcessTree: true);
                collect.WaitForExit();
            }
            Assert.True(collect.ExitCode == 0, $"dotnet-counters exited {collect.ExitCode}: {stdout.Result}{stderr.Result}");
            string json = File.ReadAllText(output);
            foreach (string instrument in new[] { "directfuse.requests", "directfuse.request.duration", "directfuse.request.errors", "directfuse.io" })
                Assert.True(json.Contains(instrument, StringComparison.Ordinal), $"dotnet-counters saw no {instrument}:\n{json[..Math.Min(json.Length, 2000)]}");
            Assert.Contains("ENOENT", json, StringComparison.Ordinal);
            Assert.Contains(mnt, json, StringComparison.Ordinal); // the directfuse.mount tag
        }
        finally
        {
            // The server's Dispose unmounts and removes the mount point; this covers a failure before it existed.
            Mounts.ForceUnmount(mnt);
            if (Directory.Exists(mnt)) Directory.Delete(mnt);
            Directory.Delete(tools, recursive: true);
        }
    }
}
