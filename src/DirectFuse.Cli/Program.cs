using System.CommandLine;
using System.CommandLine.Parsing;
using DirectFuse.Cli.Commands;

namespace DirectFuse.Cli;

/// <summary>The <c>directfuse</c> command: mount the example file systems, unmount, show regions, serve CUSE devices.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Output.CliOutput.DetectJournal();
        var root = new RootCommand("DirectFuse: FUSE servers in pure C#, with direct mmap.")
        {
            MountCommand.Create(),
            UnmountCommand.Create(),
            RegionsCommand.Create(),
            CuseCommand.Create(),
        };
        var parsed = root.Parse(args);
        // The mount and cuse commands handle SIGINT, SIGTERM, SIGHUP and SIGQUIT themselves (ShutdownSignals):
        // System.CommandLine's handling would end the process 2 s after the signal, in the middle of unmounting.
        var invocation = new InvocationConfiguration();
        if (parsed.CommandResult.Parent is CommandResult { Command.Name: "mount" or "cuse" }) invocation.ProcessTerminationTimeout = null;
        return parsed.Invoke(invocation);
    }
}
