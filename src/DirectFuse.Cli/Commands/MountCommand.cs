using System.CommandLine;
using DirectFuse.Examples.Loopback;
using DirectFuse.Examples.MemFs;

namespace DirectFuse.Cli.Commands;

/// <summary><c>directfuse mount KIND ...</c>: serves one example file system in the foreground.</summary>
internal static class MountCommand
{
    public static Command Create()
    {
        var mount = new Command("mount", "Mount an example file system and serve it until unmounted or interrupted");
        mount.Add(MemFs());
        mount.Add(Loopback());
        mount.Add(DirectMmapCommands.Fmmap());
        mount.Add(DirectMmapCommands.Shmfs());
        return mount;
    }

    private static Command MemFs()
    {
        var common = new CommonOptions();
        var mountPoint = MountPointArgument();
        var command = new Command("memfs", "An in-memory POSIX file system") { mountPoint };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) =>
            MountRunner.RunAsync(result, common, result.GetRequiredValue(mountPoint), "memfs",
                () => new MemFileSystem(), cancellationToken));
        return command;
    }

    private static Command Loopback()
    {
        var common = new CommonOptions();
        var source = new Argument<string>("SOURCE") { Description = "The directory to mirror" };
        var mountPoint = MountPointArgument();
        var noPassthrough = new Option<bool>("--no-passthrough") { Description = "Serve reads and writes in the server even where passthrough is possible" };
        var command = new Command("loopback", "Mirror a directory (passthrough when root and the kernel allows)") { source, mountPoint, noPassthrough };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            string src = Path.GetFullPath(result.GetRequiredValue(source));
            if (!Directory.Exists(src)) return Task.FromResult(MountRunner.Fail($"source directory '{src}' does not exist"));
            return MountRunner.RunAsync(result, common, result.GetRequiredValue(mountPoint), "loopback",
                () => new LoopbackFileSystem(src, new LoopbackOptions { UsePassthrough = !result.GetValue(noPassthrough) }),
                cancellationToken,
                fs => ((LoopbackFileSystem)fs).Describe());
        });
        return command;
    }

    private static Argument<string> MountPointArgument() => new("MOUNTPOINT") { Description = "An existing directory to mount on" };
}
