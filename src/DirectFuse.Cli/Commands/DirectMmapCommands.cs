using System.CommandLine;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Fmmap;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Session;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Cli.Commands;

/// <summary><c>directfuse mount fmmap</c> and <c>directfuse mount shmfs</c>: the direct-mmap examples.</summary>
internal static partial class DirectMmapCommands
{
    public static Command Fmmap()
    {
        var common = new CommonOptions();
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "An existing directory to mount on" };
        var size = SizeOption("--size", "Size of each region", "16M");
        var quota = SizeOption("--quota", "Most memory all regions together may reserve", "1G");
        var policy = new Option<string>("--policy") { Description = "Who shares a region: uid (per user), pid (per process), shared (everybody)", DefaultValueFactory = _ => "uid" };
        policy.AcceptOnlyFromAmong("uid", "pid", "shared");
        var mode = ModeOption();
        var sync = new Option<int>("--sync-interval") { Description = "Page-cache mode: sync regions with clients every N milliseconds (0: never)", DefaultValueFactory = _ => 0 };
        var command = new Command("fmmap", $"One file, '{FmmapFileSystem.FileName}', whose mapping is a region private to each UID (the 2010 thread's example)")
            { mountPoint, size, quota, policy, mode, sync };
        common.AddTo(command);
        command.SetAction(result =>
        {
            if (!TryParse(result, size, out long regionSize) || !TryParse(result, quota, out long quotaBytes) || !CheckMode(result.GetValue(mode))) return 1;
            // Regions are whole pages: round here so the maximum region size covers what the policy asks for.
            long bytes = (regionSize + MmapAddressSpace.PageSize - 1) / MmapAddressSpace.PageSize * MmapAddressSpace.PageSize;
            int syncMs = result.GetValue(sync);
            if ((OptionChecks.FitsQuota("--size", bytes, quotaBytes, "every open would fail with EDQUOT") ?? OptionChecks.SyncInterval(syncMs)) is { } problem)
                return MountRunner.Fail(problem);
            var chosen = result.GetValue(policy) switch
            {
                "pid" => RegionPolicy.PerProcess(bytes),
                "shared" => RegionPolicy.Shared(bytes),
                _ => RegionPolicy.PerUid(bytes),
            };
            var options = new MmapAddressSpaceOptions { Quota = quotaBytes, MaxRegionSize = bytes, Name = Path.GetFullPath(result.GetRequiredValue(mountPoint)) };
            return MountRunner.Run(result, common, result.GetRequiredValue(mountPoint), "fmmap",
                () => new FmmapFileSystem(bytes, chosen, ParseMode(result.GetValue(mode)), options),
                fs => Describe(((FmmapFileSystem)fs).Binder, $"{result.GetValue(policy)} regions of {ByteSize.Format(bytes)}, quota {ByteSize.Format(quotaBytes)}"),
                (fs, session, logger) => Serve(session, logger, ((FmmapFileSystem)fs).Binder, null, syncMs));
        });
        return command;
    }

    public static Command Shmfs()
    {
        var common = new CommonOptions();
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "An existing directory to mount on" };
        var quota = SizeOption("--quota", "Most memory all files together may use", "1G");
        // By default as large as the quota, so that a small --quota alone is not refused for its default --max-file.
        var maxFile = SizeOption("--max-file", "Largest single file (default: the quota)", QuotaWord);
        var mode = ModeOption();
        var command = new Command("shmfs", "A memory file system in which every regular file is a region clients map directly")
            { mountPoint, quota, maxFile, mode };
        common.AddTo(command);
        command.SetAction(result =>
        {
            if (!TryParse(result, quota, out long quotaBytes) || !CheckMode(result.GetValue(mode))) return 1;
            long maxBytes = quotaBytes;
            if (result.GetValue(maxFile) != QuotaWord && !TryParse(result, maxFile, out maxBytes)) return 1;
            if (OptionChecks.FitsQuota("--max-file", maxBytes, quotaBytes, "no file could ever grow that large") is { } problem) return MountRunner.Fail(problem);
            var options = new MmapAddressSpaceOptions { Quota = quotaBytes, MaxRegionSize = maxBytes, Name = Path.GetFullPath(result.GetRequiredValue(mountPoint)) };
            return MountRunner.Run(result, common, result.GetRequiredValue(mountPoint), "shmfs",
                () => new ShmFileSystem(options, ParseMode(result.GetValue(mode))),
                fs => Describe(((ShmFileSystem)fs).Binder, $"quota {ByteSize.Format(quotaBytes)}"),
                (fs, session, logger) =>
                {
                    var shm = (ShmFileSystem)fs;
                    return Serve(session, logger, shm.Binder, region => shm.Files().FirstOrDefault(f => f.Region == region).Path, 0);
                });
        });
        return command;
    }

    /// <summary>The value of shmfs --max-file that stands for "as large as --quota".</summary>
    private const string QuotaWord = "quota";

    private static string Describe(RegionBinder binder, string what) => $"{what}; direct mmap: {binder.Mode} ({binder.ModeReason})";

    /// <summary>After mounting: the regions report socket, and periodic sync in page-cache mode.</summary>
    private static IDisposable? Serve(FuseSession session, ILogger logger, RegionBinder binder, Func<MmapRegion, string?>? label, int syncMs)
    {
        var parts = new List<IDisposable>();
        if (session.ConnectionId is { } id)
            try
            {
                parts.Add(new RegionReportServer(id, () => RegionReport.Capture(session.MountPoint, binder, label), logger));
            }
            catch (System.Net.Sockets.SocketException e)
            {
                // Serving the mount matters more than the report, but nobody must take its silence for "no regions".
                LogNoRegionsReport(logger, session.MountPoint, e.Message);
            }
        if (syncMs > 0 && binder.Mode == DirectMmapMode.PageCache)
            parts.Add(binder.StartPeriodicSync(TimeSpan.FromMilliseconds(syncMs)));
        return new Disposables(parts);
    }

    private sealed class Disposables(List<IDisposable> parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    private static Option<string> SizeOption(string name, string description, string defaultValue) =>
        new(name) { Description = $"{description} (like 64K, 16M, 1G)", DefaultValueFactory = _ => defaultValue };

    private static bool TryParse(ParseResult result, Option<string> option, out long bytes)
    {
        try
        {
            bytes = ByteSize.Parse(result.GetValue(option) ?? "");
            return true;
        }
        catch (FormatException e)
        {
            MountRunner.Fail($"{option.Name}: {e.Message}");
            bytes = 0;
            return false;
        }
    }

    private static Option<string> ModeOption()
    {
        var mode = new Option<string>("--mmap-mode")
        {
            Description = "auto (passthrough when root on kernel 6.9+, else page cache), passthrough, page-cache, or none (MAP_SHARED refused)",
            DefaultValueFactory = _ => "auto",
        };
        mode.AcceptOnlyFromAmong("auto", "passthrough", "page-cache", "none");
        return mode;
    }

    /// <summary>"passthrough" is what auto picks when it can; asked for explicitly, a missing privilege is an error up front.</summary>
    private static bool CheckMode(string? mode)
    {
        if (mode != "passthrough" || BackingFile.ProcessMayRegister) return true;
        MountRunner.Fail("--mmap-mode passthrough needs CAP_SYS_ADMIN (run as root), as FUSE backing files do; use auto or page-cache");
        return false;
    }

    private static DirectMmapMode? ParseMode(string? mode) => mode switch
    {
        "page-cache" => DirectMmapMode.PageCache,
        "none" => DirectMmapMode.None,
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "'directfuse regions' cannot answer for {MountPoint}: no report socket ({Reason})")]
    private static partial void LogNoRegionsReport(ILogger logger, string mountPoint, string reason);
}
