using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using DirectFuse.DirectMmap;
using DirectFuse.Transport;

namespace DirectFuse.Cli.Commands;

/// <summary><c>directfuse regions MOUNTPOINT [--json]</c>: the regions of a running fmmap or shmfs server.</summary>
internal static class RegionsCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "The mount point of a running fmmap or shmfs server" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("regions", "Show each region's offset, size, resident bytes, share key and open count, and the totals against the quota")
            { mountPoint, json };
        command.SetAction(async (result, cancellationToken) =>
        {
            string path = Path.GetFullPath(result.GetRequiredValue(mountPoint));
            if (FuseMounts.ConnectionId(path) is not { } id) return MountRunner.Fail($"'{path}' is not a FUSE mount point");
            string text;
            try
            {
                text = await RegionReportServer.QueryAsync(id, cancellationToken);
            }
            catch (SocketException)
            {
                return MountRunner.Fail($"no direct-mmap server answers for '{path}' (is it an fmmap or shmfs mount of this machine?)");
            }
            if (text.Length == 0)
                return MountRunner.Fail($"the server of '{path}' does not show its regions to this user (only to its owner and root)");
            if (result.GetValue(json))
            {
                Console.WriteLine(text);
                return 0;
            }
            var report = JsonSerializer.Deserialize(text, RegionReportJson.Default.RegionReport)!;
            Print(report);
            return 0;
        });
        return command;
    }

    private static void Print(RegionReport r)
    {
        Console.WriteLine($"{r.MountPoint}: {r.Mode} ({r.ModeReason})");
        Console.WriteLine($"{"OFFSET",-14} {"SIZE",10} {"LENGTH",10} {"RESIDENT",10} {"OPENS",5} {"SHARE KEY",-16} FILE");
        foreach (var g in r.Regions)
            Console.WriteLine($"0x{g.Offset,-12:x} {ByteSize.Format(g.Size),10} {g.Length,10} {ByteSize.Format(g.Resident),10} {g.ClientOpens,5} {g.ShareKey ?? "-",-16} {g.Label ?? ""}");
        Console.WriteLine($"{r.Regions.Count} regions; reserved {ByteSize.Format(r.Reserved)} of {ByteSize.Format(r.Quota)} quota; resident {ByteSize.Format(r.Resident)}");
    }
}
