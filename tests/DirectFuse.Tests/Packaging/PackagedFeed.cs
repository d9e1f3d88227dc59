using System.Collections;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Packaging;

/// <summary>
/// Every package that src/ makes, packed once (on first use) with a test version into a local feed in a temporary
/// directory, with build outputs and a NuGet package cache of their own there: nothing of the repository's bin/obj
/// or the machine's global package cache is written. Dispose removes it all.
/// </summary>
public sealed class PackagedFeed : IDisposable
{
    /// <summary>The library packages: each one's assembly and XML docs ship in lib/net10.0.</summary>
    public static readonly IReadOnlyList<string> Libraries =
    [
        "DirectFuse",
        "DirectFuse.Hosting",
        "DirectFuse.Testing",
    ];

    /// <summary>The dotnet tool package.</summary>
    public const string Tool = "DirectFuse.Tool";

    /// <summary>Microsoft.Extensions.Hosting for the scratch app: the version the tests themselves reference.</summary>
    public const string HostingVersion = "11.0.0";

    private readonly Lazy<string> _packed;

    public PackagedFeed()
    {
        Root = Directory.CreateTempSubdirectory("df-pack-").FullName;
        Version = $"0.0.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}";
        _packed = new Lazy<string>(Pack);
    }

    /// <summary>The temporary directory holding everything below.</summary>
    public string Root { get; }
    /// <summary>The version every package was packed with.</summary>
    public string Version { get; }
    /// <summary>The local feed: a directory of .nupkg and .snupkg files, packed on first use.</summary>
    public string Feed => _packed.Value;
    /// <summary>The NuGet package cache (NUGET_PACKAGES) for everything that restores or installs from <see cref="Feed"/>.</summary>
    public string Packages => Path.Combine(Root, "nuget-packages");

    /// <summary>The assembly a package carries: DirectFuse's is DirectFuse.Core (the CLI assembly is "directfuse").</summary>
    public static string AssemblyOf(string packageId) => packageId == "DirectFuse" ? "DirectFuse.Core" : packageId;

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>The machine's own package cache: read-only here, as a fallback folder, so that restores need not download again.</summary>
    public static string GlobalPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>
    /// Runs <c>dotnet ARGS</c> for the tests: no build servers left running afterwards, no MSBuild settings inherited from
    /// the test run, and (<paramref name="ownCache"/>) <see cref="Packages"/> as the package cache, so that the test
    /// version's packages stay out of the machine's.
    /// </summary>
    public ProcessResult Dotnet(IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null, bool ownCache = true)
    {
        var env = new List<string>();
        // dotnet test's MSBuild variables would point a nested build at the test run's own MSBuild state.
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
            if (variable.Key is string name && name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) && name != "MSBUILDDISABLENODEREUSE")
                env.AddRange(["-u", name]);
        env.AddRange(["MSBUILDDISABLENODEREUSE=1", "DOTNET_CLI_USE_MSBUILD_SERVER=0", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "DOTNET_NOLOGO=1",
            "DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1"]);
        if (ownCache) env.Add($"NUGET_PACKAGES={Packages}");
        env.Add("dotnet");
        return Run.Process("env", env.Concat(args), timeout, workingDirectory: workingDirectory ?? Root);
    }

    /// <summary>Where the .NET runtime is (DOTNET_ROOT for a tool's launcher).</summary>
    public static string DotnetRoot =>
        Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root ? root
            : Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private string Pack()
    {
        string repo = CliProcess.RepositoryRoot;
        string feed = Path.Combine(Root, "feed");
        // Packing restores only published packages (into the machine's cache, as any build does) and makes ours in the feed.
        // One build for all of src/ (each project decides with IsPackable whether it is a package), through a solution
        // made here; build outputs go to artifacts/ here, so the suite's own builds are left alone.
        var projects = Directory.GetFiles(Path.Combine(repo, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
        string solution = Path.Combine(Root, "packages.slnx");
        File.WriteAllText(solution, "<Solution>\n" + string.Concat(projects.Select(p => $"  <Project Path=\"{Path.GetRelativePath(Root, p)}\" />\n")) + "</Solution>\n");
        Dotnet(["pack", solution, "-c", "Release", "-nologo", "--disable-build-servers", "-v", "quiet", "-clp:ErrorsOnly",
                "--artifacts-path", Path.Combine(Root, "artifacts"), $"-p:PackageOutputPath={feed}", $"-p:Version={Version}"],
            TimeSpan.FromMinutes(8), ownCache: false).EnsureSuccess("dotnet pack");
        return feed;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A busy file in a temp directory is harmless.
        }
    }
}
