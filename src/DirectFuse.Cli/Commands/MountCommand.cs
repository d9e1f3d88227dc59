using System.CommandLine;
using DirectFuse.Examples.Loopback;
using DirectFuse.Examples.MemFs;
using DirectFuse.Examples.OssDsp;
using DirectFuse.Session;

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
        mount.Add(OssDsp());
        return mount;
    }

    private static Command MemFs()
    {
        var common = new CommonOptions();
        var mountPoint = MountPointArgument();
        var command = new Command("memfs", "An in-memory POSIX file system") { mountPoint };
        common.AddTo(command);
        command.SetAction(result =>
            MountRunner.Run(result, common, result.GetRequiredValue(mountPoint), "memfs",
                () => new MemFileSystem()));
        return command;
    }

    private static Command Loopback()
    {
        var common = new CommonOptions();
        var source = new Argument<string>("DIRECTORY") { Description = "The directory to mirror" };
        var mountPoint = MountPointArgument();
        var noPassthrough = new Option<bool>("--no-passthrough") { Description = "Serve reads and writes in the server even where passthrough is possible" };
        var noXattr = new Option<bool>("--no-xattr") { Description = "Serve no extended attributes (the kernel then stops asking for security.capability before each write)" };
        var alwaysFlush = new Option<bool>("--always-flush") { Description = "Send every close(2) to the server as FLUSH, also for sources whose close does nothing (ext4, XFS, tmpfs)" };
        var noDirCache = new Option<bool>("--no-dir-cache") { Description = "Read every directory listing from the source (by default the kernel keeps a listing while the source directory's mtime and ctime are unchanged)" };
        var uncheckedOthers = new Option<bool>("--no-default-permissions")
        {
            Description = "With -o allow_other, do not add default_permissions: every user may then act on the source with the server's own rights",
        };
        var command = new Command("loopback", "Mirror a directory (passthrough when root and the kernel allows)") { source, mountPoint, noPassthrough, noXattr, alwaysFlush, noDirCache, uncheckedOthers };
        common.AddTo(command);
        command.SetAction(result =>
        {
            string src = Path.GetFullPath(result.GetRequiredValue(source));
            if (!Directory.Exists(src)) return MountRunner.Fail($"source directory '{src}' does not exist");
            return MountRunner.Run(result, common, result.GetRequiredValue(mountPoint), "loopback",
                () => new LoopbackFileSystem(src, new LoopbackOptions { UsePassthrough = !result.GetValue(noPassthrough), Xattrs = !result.GetValue(noXattr), ElideNoOpFlush = !result.GetValue(alwaysFlush), CacheDirectoryListings = !result.GetValue(noDirCache) }),
                fs => ((LoopbackFileSystem)fs).Describe(),
                secureOptions: options => CheckedForOtherUsers(options, result.GetValue(uncheckedOthers)));
        });
        return command;
    }

    /// <summary>
    /// The loopback server acts on the source with its own rights and checks nobody's, so once other users can
    /// reach the mount only the kernel's default_permissions keeps them to what the source's modes allow them.
    /// </summary>
    private static DirectFuse.Session.MountOptions CheckedForOtherUsers(DirectFuse.Session.MountOptions options, bool optedOut)
    {
        if (!options.AllowOther || options.DefaultPermissions || optedOut) return options;
        Output.CliOutput.Warn("directfuse: allow_other without default_permissions would let every user act on the source with the server's rights; adding default_permissions (--no-default-permissions to keep it off)");
        return options with { DefaultPermissions = true };
    }

    private static Command OssDsp()
    {
        var common = new CommonOptions();
        var devicePath = new Argument<string>("DEVICEPATH") { Description = "Where the device appears (a regular file, created if missing)" };
        var wav = new Option<string>("--wav") { Description = "The WAV file that receives what is played", Required = true };
        var raw = new Option<bool>("--raw") { Description = "Also write the raw PCM to standard output (messages then go to standard error)" };
        var mmap = new Option<string>("--mmap")
        {
            Description = "How clients map the buffer: pagecache (default), passthrough (root, zero copy), none",
            DefaultValueFactory = _ => "pagecache",
        };
        mmap.AcceptOnlyFromAmong("pagecache", "passthrough", "none");
        var forceAutoUnmount = new Option<bool>(AutoUnmountChecks.ForceOption)
        {
            Description = "Allow -o auto_unmount on a RAM-backed path such as /dev (after a crash, clients would write into memory)",
        };
        var command = new Command("ossdsp", "An OSS playback device (/dev/dsp) whose output goes to a WAV file") { devicePath, wav, raw, mmap, forceAutoUnmount };
        common.AddTo(command);
        command.SetAction(result =>
        {
            string given = result.GetRequiredValue(devicePath);
            // /dev/fd/N stays as it is: an inherited, already mounted /dev/fuse, not a path.
            string path = DirectFuse.Session.FuseMounts.TryParseDeviceFd(given, out _) ? given : Path.GetFullPath(given);
            // Before the device file or the WAV file is created.
            if (MountRunner.Check(result, common, path, MountPointKind.File) is { } problem) return MountRunner.Fail(problem);
            if (!result.GetValue(forceAutoUnmount) && AutoUnmountChecks.DeviceRefusal(result.GetValue(common.MountOptions) ?? [], path) is { } refusal)
                return MountRunner.Fail(refusal);
            if (result.GetValue(raw) && Daemon.DaemonChild.IsActive)
                return MountRunner.Fail("raw writes the samples to standard output, which a daemon does not have: add -f to serve in the foreground");
            var mode = result.GetValue(mmap) switch
            {
                "passthrough" => DirectFuse.DirectMmap.DirectMmapMode.Passthrough,
                "none" => DirectFuse.DirectMmap.DirectMmapMode.None,
                _ => DirectFuse.DirectMmap.DirectMmapMode.PageCache,
            };
            Stream? rawOut = null;
            if (result.GetValue(raw))
            {
                rawOut = Console.OpenStandardOutput();
                Output.CliOutput.SendInfoToStandardError(); // standard output carries only samples now
            }
            WavSink? sink = null;
            OssDspDevice? device = null;
            try
            {
                if (!File.Exists(path) && !DirectFuse.Session.FuseMounts.TryParseDeviceFd(path, out _)) File.WriteAllBytes(path, []);
                sink = new WavSink(Path.GetFullPath(result.GetRequiredValue(wav)), rawOut);
                device = new OssDspDevice(sink, mmap: mode != DirectFuse.DirectMmap.DirectMmapMode.None);
                var host = new DirectFuse.Devices.DeviceFileSystem(device, new DirectFuse.Devices.DeviceHostOptions { MmapMode = mode });
                return MountRunner.Run(result, common, path, "ossdsp", () => host,
                    _ => $"mmap: {host.MmapMode.ToString().ToLowerInvariant()} ({host.MmapModeReason}), wav: {result.GetValue(wav)}",
                    mountPointKind: MountPointKind.File);
            }
            catch (IOException e)
            {
                return MountRunner.Fail(e.Message);
            }
            finally
            {
                device?.Dispose();
                sink?.Dispose(); // the WAV header is final now
            }
        });
        return command;
    }

    private static Argument<string> MountPointArgument() => new("MOUNTPOINT") { Description = "An existing directory to mount on" };
}
