using System.CommandLine;
using DirectFuse.DirectMmap;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// <c>directfuse regions MOUNTPOINT [--json]</c>: the regions of a running fmmap or shmfs server. Nothing the
/// server sends is printed as it came: the table escapes every string, and --json writes the parsed report anew.
/// </summary>
internal static class RegionsCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "The mount point of a running fmmap or shmfs server" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for the server's report (a busy or emulated machine may need more)",
            DefaultValueFactory = _ => RegionReportClient.DefaultTimeout.TotalSeconds,
        };
        var command = new Command("regions", "Show each region's offset, size, resident bytes, share key and open count, and the totals against the quota")
            { mountPoint, json, timeout };
        command.SetAction(async (result, cancellationToken) =>
        {
            RegionReport report;
            try
            {
                double seconds = result.GetValue(timeout);
                if (!(seconds > 0 && seconds <= 3600)) return MountRunner.Fail("--timeout must be between 0 and 3600 seconds");
                report = await RegionReportClient.QueryAsync(result.GetRequiredValue(mountPoint), TimeSpan.FromSeconds(seconds), cancellationToken);
            }
            catch (RegionReportException e)
            {
                return MountRunner.Fail(TerminalText.Escape(e.Message));
            }
            if (result.GetValue(json))
                // The default encoder escapes control characters and everything outside ASCII.
                Console.WriteLine(report.ToJson());
            else
                Print(report);
            return 0;
        });
        return command;
    }

    private static void Print(RegionReport r)
    {
        Console.WriteLine($"{TerminalText.Escape(r.MountPoint)}: {TerminalText.Escape(r.Mode)} ({TerminalText.Escape(r.ModeReason)})");
        Console.WriteLine($"{"OFFSET",-14} {"SIZE",10} {"LENGTH",10} {"RESIDENT",10} {"OPENS",5} {"SHARE KEY",-16} FILE");
        foreach (var g in r.Regions)
            Console.WriteLine($"0x{g.Offset,-12:x} {ByteSize.Format(g.Size),10} {g.Length,10} {ByteSize.Format(g.Resident),10} {g.ClientOpens,5} {TerminalText.Escape(g.ShareKey ?? "-"),-16} {TerminalText.Escape(g.Label ?? "")}");
        Console.WriteLine($"{r.Regions.Count} regions; reserved {ByteSize.Format(r.Reserved)} of {ByteSize.Format(r.Quota)} quota; resident {ByteSize.Format(r.Resident)}");
    }
}
