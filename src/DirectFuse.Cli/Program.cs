using System.CommandLine;
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
        return root.Parse(args).Invoke();
    }
}
