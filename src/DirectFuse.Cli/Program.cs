using System.CommandLine;
using System.CommandLine.Parsing;
using DirectFuse.Cli.Commands;
using DirectFuse.Cli.Daemon;
using DirectFuse.Cli.Output;

namespace DirectFuse.Cli;

/// <summary>
/// The <c>directfuse</c> command: <c>directfuse SOURCE MOUNTPOINT [-o OPTIONS]</c> as mount(8) and fstab run it
/// (a daemon unless -f), and the subcommands mount (foreground), unmount, regions and cuse.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // First: the daemon's marker leaves the environment before anything could pass it on.
        DaemonChild.Detect();
        CliOutput.DetectJournal();
        var serve = new ServeForm();
        var mount = MountCommand.Create();
        var root = new RootCommand("DirectFuse: FUSE servers in pure C#, with direct mmap.")
        {
            mount,
            UnmountCommand.Create(),
            RegionsCommand.Create(),
            CuseCommand.Create(),
        };
        serve.AddTo(root);
        HelpText.Customize(root, mount);
        VersionText.Replace(root);
        root.SetAction(_ =>
        {
            CliOutput.Fail("directfuse: missing SOURCE and MOUNTPOINT, or a command (directfuse --help)");
            return 1;
        });

        var parsed = root.Parse(args);
        if (serve.Matches(parsed))
        {
            if (parsed.Errors.Count > 0) return OneLineError(parsed);
            ServePlan plan;
            try
            {
                plan = serve.Plan(parsed, mount);
            }
            catch (ArgumentException e)
            {
                return MountRunner.Fail(e.Message);
            }
            // The mount command it stands for must parse too (an option value it refuses, such as policy=bogus),
            // before a daemon is started to report it.
            parsed = root.Parse([.. plan.MountArguments]);
            if (parsed.Errors.Count > 0) return OneLineError(parsed);
            if (!plan.Foreground && !DaemonChild.IsActive) return Daemonizer.Run(args, plan.Description);
        }
        // The mount and cuse commands handle SIGINT, SIGTERM, SIGHUP and SIGQUIT themselves (ShutdownSignals):
        // System.CommandLine's handling would end the process 2 s after the signal, in the middle of unmounting.
        var invocation = new InvocationConfiguration();
        if (parsed.CommandResult.Parent is CommandResult { Command.Name: "mount" or "cuse" }) invocation.ProcessTerminationTimeout = null;
        return parsed.Invoke(invocation);
    }

    /// <summary>
    /// The first parse error as one line, as mount(8)'s caller should see it (not the whole help), naming the
    /// <c>-o</c> option it came from: in the mount(8) form, <c>-o policy=bogus</c> was parsed as <c>--policy=bogus</c>.
    /// </summary>
    private static int OneLineError(ParseResult parsed)
    {
        var error = parsed.Errors[0];
        var option = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        string where = option is { Name: var name } && name.StartsWith("--", StringComparison.Ordinal) ? $"-o {KindOptions.NameOf(option)}: " : "";
        string message = string.Join(' ', error.Message.Split(['\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return MountRunner.Fail($"{where}{message} (directfuse --help lists the options)");
    }
}
