using System.Text.Json;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Bench;

/// <summary>Runs only in CI (CI=true) or when asked (DIRECTFUSE_BENCH=1): bench/run --quick installs and builds the contenders and takes minutes.</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") != "true" && Environment.GetEnvironmentVariable("DIRECTFUSE_BENCH") != "1")
            Skip = "bench/run --quick takes minutes: it runs in CI (CI=true) or with DIRECTFUSE_BENCH=1";
    }
}

/// <summary>Keeps the benchmark harness working: one quick run, every contender measured, JSON and markdown written.</summary>
public sealed class BenchQuickModeTests
{
    [BenchFact]
    public void Quick_mode_measures_every_contender_and_writes_json_and_markdown()
    {
        string repo = CliProcess.RepositoryRoot;
        string outDir = Directory.CreateTempSubdirectory("df-bench-").FullName;
        try
        {
            string json = Path.Combine(outDir, "quick.json"), markdown = Path.Combine(outDir, "quick.md");
            // bench/run turns enable_uring on for its io_uring contender and puts back what it found: held on here,
            // it finds Y, and UringParameter alone restores the value from before the suite, whatever the tests
            // that turn it on or off in parallel do meanwhile.
            using var uring = UringParameter.Supported ? UringParameter.On() : null;
            Run.Process("bash", [Path.Combine(repo, "bench", "run"), "--quick", "--json", json, "--markdown", markdown], TimeSpan.FromMinutes(12))
                .EnsureSuccess("bench/run --quick");
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
            var contenders = results.Select(r => r.GetProperty("contender").GetString()).ToHashSet();
            var workloads = results.Select(r => r.GetProperty("workload").GetString()).ToHashSet();
            Assert.Superset(new HashSet<string?> { "native", "libfuse", "gofuse", "directfuse", "directfuse-nopt", "directfuse-aot", "directfuse-jit", "directfuse-jit-notiered" }, contenders);
            Assert.Superset(new HashSet<string?> { "stat", "create", "readdir", "seqread", "seqwrite", "randread", "mmap-write-bw", "mmap-first-touch", "pagecache-retrieve", "alloc-READ",
                "startup-first-answer", "first-create", "startup-rss" }, workloads);
            Assert.All(results, r => Assert.True(r.GetProperty("value").GetDouble() >= 0));
            Assert.NotEmpty(doc.RootElement.GetProperty("targets").EnumerateArray());
            Assert.Contains("| workload |", File.ReadAllText(markdown));
            Assert.Contains("## Server start-up", File.ReadAllText(markdown));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }
}
