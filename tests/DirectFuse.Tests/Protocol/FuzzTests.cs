using DirectFuse.Fuzz;
using Xunit.Abstractions;

namespace DirectFuse.Tests.Protocol;

/// <summary>
/// A short fixed-seed pass of the protocol fuzzer (tests/DirectFuse.Fuzz): generated and mutated requests through
/// the real dispatcher serving memfs, a device over FUSE and a device over CUSE. Long runs: scripts/fuzz.sh.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Fixed_seed_pass_breaks_no_oracle()
    {
        var log = new StringWriter();
        // A fixed amount of work, capped in time so a slow CI machine stays under 30 s.
        var result = FuzzRunner.Run(new FuzzOptions { Seed = 20261130, MaxRequests = 30_000, Duration = TimeSpan.FromSeconds(20), Log = log });
        output.WriteLine(log.ToString());
        Assert.True(result.Failure is null, result.Failure?.ToString());
        Assert.True(result.Requests >= 1_000, $"only {result.Requests} requests in {result.Elapsed}");
        // The generator must reach the malformed paths and the file systems alike.
        Assert.InRange(result.MalformedWarnings, 1, result.Requests - 1);
    }
}
