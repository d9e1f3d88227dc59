using System.CommandLine;
using System.CommandLine.Parsing;
using DirectFuse.Cli.Commands;

namespace DirectFuse.Cli;

/// <summary>The <c>directfuse</c> command: mount the example file systems, unmount.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("DirectFuse: FUSE servers in pure C#, with direct mmap.")
        {
            MountCommand.Create(),
            UnmountCommand.Create(),
            RegionsCommand.Create(),
        };
        var parsed = root.Parse(args);
        // The mount command handles SIGINT, SIGTERM, SIGHUP and SIGQUIT itself (ShutdownSignals): System.CommandLine's
        // handling would end the process 2 s after the signal, in the middle of unmounting.
        var invocation = new InvocationConfiguration();
        if (parsed.CommandResult.Parent is CommandResult { Command.Name: "mount" }) invocation.ProcessTerminationTimeout = null;
        return parsed.Invoke(invocation);
    }
}
