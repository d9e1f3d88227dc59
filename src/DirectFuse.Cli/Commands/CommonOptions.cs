using System.CommandLine;

namespace DirectFuse.Cli.Commands;

/// <summary>Options every <c>mount</c> subcommand takes.</summary>
internal sealed class CommonOptions
{
    public Option<string[]> MountOptions { get; } = new("--options", "-o")
    {
        Description = "Mount options, comma separated (fsname, subtype, allow_other, default_permissions, ro, max_read=N, auto_unmount, io_uring, ...)",
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    public Option<int> Threads { get; } = new("--threads", "-t")
    {
        Description = "Worker threads, each on its own cloned /dev/fuse fd",
        DefaultValueFactory = _ => Math.Max(2, Environment.ProcessorCount),
    };

    public Option<bool> Debug { get; } = new("--debug", "-d")
    {
        Description = "Print one line per request: opcode, node id, uid, pid, result",
    };

    /// <summary>
    /// Takes the options that configure the session rather than the mount out of the <c>-o</c> lists: <c>io_uring</c>
    /// (serve over FUSE-over-io_uring where the kernel allows it, else /dev/fuse with a warning saying why).
    /// </summary>
    public static string[] TakeSessionOptions(string[] lists, out bool ioUring)
    {
        ioUring = false;
        var rest = new List<string>();
        foreach (var list in lists)
        {
            var kept = new List<string>();
            foreach (var raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (raw == "io_uring") ioUring = true;
                else kept.Add(raw);
            if (kept.Count > 0) rest.Add(string.Join(',', kept));
        }
        return [.. rest];
    }

    public void AddTo(Command command)
    {
        command.Add(MountOptions);
        command.Add(Threads);
        command.Add(Debug);
    }
}
