using System.CommandLine;
using DirectFuse.Session;

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

    public void AddTo(Command command)
    {
        command.Add(MountOptions);
        command.Add(Threads);
        command.Add(Debug);
    }
}
