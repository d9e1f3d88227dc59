using System.IO.Compression;
using System.Xml.Linq;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Packaging;

/// <summary>
/// What a user gets from NuGet: the packages as packed (license, README, XML docs, symbols, nothing that is not ours
/// to ship), an app built on them from a local feed that mounts and reads a file, and the tool installed from it.
/// Slow (a full pack and restore, one to two minutes): <c>--filter Category!=Packaging</c> leaves it out.
/// </summary>
[Trait("Category", "Packaging")]
[Collection(nameof(PackageTests))]
public sealed class PackageTests(PackagedFeed packed) : IClassFixture<PackagedFeed>
{
    [PackagingFact]
    public void The_feed_holds_exactly_the_packages_and_their_symbols()
    {
        var expected = PackagedFeed.Libraries.Append(PackagedFeed.Tool)
            .SelectMany(id => new[] { $"{id}.{packed.Version}.nupkg", $"{id}.{packed.Version}.snupkg" }).Order(StringComparer.Ordinal);
        Assert.Equal(expected, Directory.GetFiles(packed.Feed).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [PackagingFact]
    public void Every_package_has_the_license_readme_and_repository_and_symbols_with_its_pdbs()
    {
        foreach (string id in PackagedFeed.Libraries.Append(PackagedFeed.Tool))
        {
            using var package = ZipFile.OpenRead(packed.PackagePath(id));
            var files = package.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("LICENSE", files);
            Assert.Contains("README.md", files);
            var metadata = Nuspec(package, id);
            Assert.Equal(packed.Version, Element(metadata, "version"));
            Assert.Equal("DirectFuse contributors", Element(metadata, "authors"));
            Assert.Equal("MIT", Element(metadata, "license"));
            Assert.Equal("README.md", Element(metadata, "readme"));
            Assert.Equal("https://github.com/directfuse/directfuse", Element(metadata, "projectUrl"));
            Assert.Equal("https://github.com/directfuse/directfuse", metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("url")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(Element(metadata, "description")));

            using var symbols = ZipFile.OpenRead(packed.PackagePath(id, "snupkg"));
            Assert.Contains(symbols.Entries, e => e.FullName.EndsWith($"/{PackagedFeed.AssemblyOf(id)}.pdb", StringComparison.Ordinal)
                || (id == PackagedFeed.Tool && e.FullName.EndsWith("/directfuse.pdb", StringComparison.Ordinal)));
        }
    }

    [PackagingFact]
    public void The_libraries_carry_their_assembly_and_xml_docs_and_nothing_of_the_examples()
    {
        foreach (string id in PackagedFeed.Libraries)
        {
            using var package = ZipFile.OpenRead(packed.PackagePath(id));
            var files = package.Entries.Select(e => e.FullName).ToList();
            string assembly = PackagedFeed.AssemblyOf(id);
            Assert.Contains($"lib/net10.0/{assembly}.dll", files);
            Assert.Contains($"lib/net10.0/{assembly}.xml", files);
            Assert.DoesNotContain(files, f => f.Contains("Examples", StringComparison.OrdinalIgnoreCase) || f.Contains("directfuse.dll", StringComparison.Ordinal));
        }
        using var library = ZipFile.OpenRead(packed.PackagePath("DirectFuse"));
        var dependencies = Nuspec(library, "DirectFuse").Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")?.Value).ToList();
        Assert.DoesNotContain(dependencies, d => d is not null && d.StartsWith("DirectFuse", StringComparison.Ordinal));
    }

    [PackagingFact]
    public void The_tool_package_is_a_dotnet_tool_named_directfuse()
    {
        using var package = ZipFile.OpenRead(packed.PackagePath(PackagedFeed.Tool));
        var metadata = Nuspec(package, PackagedFeed.Tool);
        Assert.Contains(metadata.Descendants(), e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
        var settings = package.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
        using var reader = new StreamReader(settings.Open());
        var command = XDocument.Load(reader).Descendants("Command").Single();
        Assert.Equal("directfuse", command.Attribute("Name")?.Value);
        Assert.Equal("directfuse.dll", command.Attribute("EntryPoint")?.Value);
    }

    [PackagingFact]
    public void An_app_on_the_packages_restores_from_the_feed_builds_and_mounts_a_file_system_it_reads()
    {
        string app = Path.Combine(packed.Root, "app");
        Directory.CreateDirectory(app);
        // The scratch app stands alone: no Directory.Build.* of the places above, the feed before the configured sources.
        File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "Directory.Build.targets"), "<Project />\n");
        WriteNuGetConfig(app);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <NuGetAudit>false</NuGetAudit>
              </PropertyGroup>
              <ItemGroup>
            {string.Concat(PackagedFeed.Libraries.Select(id => $"    <PackageReference Include=\"{id}\" Version=\"{packed.Version}\" />\n"))}    <PackageReference Include="Microsoft.Extensions.Hosting" Version="{PackagedFeed.HostingVersion}" />
              </ItemGroup>
            </Project>
            """);
        // The sample's file system, so that the app follows the API wherever it goes.
        File.Copy(Path.Combine(CliProcess.RepositoryRoot, "samples", "HostedHello", "GreetingFileSystem.cs"), Path.Combine(app, "GreetingFileSystem.cs"));
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using DirectFuse.Hosting;
            using DirectFuse.Samples.HostedHello;
            using Microsoft.Extensions.Hosting;

            string mountPoint = args[0];
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddFuseMount(_ => new GreetingFileSystem("hello from the packages\n"), options => options.MountPoint = mountPoint);
            using var host = builder.Build();
            await host.StartAsync();
            try
            {
                Console.Write(File.ReadAllText(Path.Combine(mountPoint, "greeting")));
            }
            finally
            {
                await host.StopAsync();
            }
            Console.WriteLine(File.Exists(Path.Combine(mountPoint, "greeting")) ? "still mounted" : "unmounted");
            // The testing kit from the feed: the same file system, no mount.
            await using (var kernel = await DirectFuse.Testing.FuseTestKernel.StartAsync(new GreetingFileSystem("hello from the testing kit\n")))
                Console.Write(System.Text.Encoding.UTF8.GetString((await kernel.ReadFileAsync("/greeting")).Value));
            """);

        packed.Dotnet(["build", app, "-c", "Release", "-nologo", "--disable-build-servers", "-v", "quiet", "-clp:ErrorsOnly"], TimeSpan.FromMinutes(4))
            .EnsureSuccess("dotnet build of the app on the packages");
        // Restored from the feed, into the test's own cache: the machine's keeps no test versions.
        Assert.True(Directory.Exists(Path.Combine(packed.Packages, "directfuse", packed.Version)));
        Assert.False(Directory.Exists(Path.Combine(PackagedFeed.GlobalPackages, "directfuse", packed.Version)));

        string mountPoint = Directory.CreateTempSubdirectory("df-pack-mnt-").FullName;
        try
        {
            var ran = Run.Process("dotnet", [Path.Combine(app, "bin", "Release", "net10.0", "app.dll"), mountPoint], TimeSpan.FromSeconds(60));
            ran.EnsureSuccess("the app on the packages");
            Assert.Equal("hello from the packages\nunmounted\nhello from the testing kit\n", ran.StdOut);
            Assert.False(Mounts.IsFuseMounted(mountPoint));
        }
        finally
        {
            Mounts.ForceUnmount(mountPoint);
            Directory.Delete(mountPoint);
        }
    }

    [PackagingFact]
    public void The_tool_installs_from_the_feed_tells_its_version_and_mounts_memfs()
    {
        string tools = Path.Combine(packed.Root, "tools");
        string config = Path.Combine(packed.Root, "tool-config");
        Directory.CreateDirectory(config);
        WriteNuGetConfig(config);
        packed.Dotnet(["tool", "install", "--tool-path", tools, "--configfile", Path.Combine(config, "nuget.config"), "--add-source", packed.Feed,
                PackagedFeed.Tool, "--version", packed.Version], TimeSpan.FromMinutes(3))
            .EnsureSuccess("dotnet tool install");
        string directfuse = Path.Combine(tools, "directfuse");
        string dotnetRoot = $"DOTNET_ROOT={PackagedFeed.DotnetRoot}";

        var version = Run.Process("env", [dotnetRoot, directfuse, "--version"]).EnsureSuccess("directfuse --version");
        Assert.StartsWith($"directfuse {packed.Version}", version.StdOut);

        string mountPoint = Directory.CreateTempSubdirectory("df-pack-tool-").FullName;
        using var server = CliProcess.StartWith([dotnetRoot, directfuse], mountPoint, "mount", "memfs", mountPoint);
        server.WaitForMounted();
        Run.Shell($"echo from-the-tool > '{mountPoint}/file'").EnsureSuccess("write on memfs");
        Assert.Equal("from-the-tool\n", Run.Process("cat", Path.Combine(mountPoint, "file")).EnsureSuccess("cat").StdOut);
        Run.Process("env", [dotnetRoot, directfuse, "unmount", mountPoint]).EnsureSuccess("directfuse unmount");
        server.AssertExits(TimeSpan.FromSeconds(15), "directfuse unmount");
        Assert.Equal(0, server.ExitCode);
        Assert.False(Mounts.IsFuseMounted(mountPoint));
    }

    /// <summary>The feed first, then the sources NuGet is configured with (user and machine level): the public registry.</summary>
    private void WriteNuGetConfig(string directory) =>
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="directfuse-test-feed" value="{packed.Feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine-cache" value="{PackagedFeed.GlobalPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);

    private static XElement Nuspec(ZipArchive package, string id)
    {
        var entry = package.Entries.Single(e => e.FullName == $"{id}.nuspec");
        using var reader = new StreamReader(entry.Open());
        return XDocument.Load(reader).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Element(XElement metadata, string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
}

/// <summary>
/// The packaging tests run alone, after the others: two cores busy building would starve the tests that measure time.
/// </summary>
[CollectionDefinition(nameof(PackageTests), DisableParallelization = true)]
public sealed class PackageTestsCollection;

/// <summary>
/// A packaging test: in the suite's /dev/fuse pass only (packaging does not depend on the transport, and the pack takes
/// a minute or two).
/// </summary>
public sealed class PackagingFactAttribute : FactAttribute
{
    public PackagingFactAttribute()
    {
        if (TestTransport.IoUring) Skip = "packaging does not depend on the transport: it runs in the /dev/fuse pass";
    }
}
