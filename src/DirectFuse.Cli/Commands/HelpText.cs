using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// <c>directfuse --help</c>: System.CommandLine's usage, arguments, options and commands, then the sources of the
/// mount(8) form with each one's <c>-o</c> options, every generic <c>-o</c> option with what happens to it (from
/// <see cref="MountOptionTable"/>, which parsing reads too), and how the daemon mode behaves.
/// </summary>
internal static class HelpText
{
    private const int Indent = 2, Gap = 2, Width = 100;

    public static void Customize(RootCommand root, Command mount)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new WithSections((SynchronousCommandLineAction)help.Action!, mount);
    }

    /// <summary>System.CommandLine's help, and for the root command the sections below.</summary>
    private sealed class WithSections(SynchronousCommandLineAction standard, Command mount) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int result = standard.Invoke(parseResult);
            if (parseResult.CommandResult.Command is RootCommand)
            {
                var output = parseResult.InvocationConfiguration.Output;
                Sources(output, mount);
                GenericOptions(output);
                DaemonMode(output);
            }
            return result;
        }
    }

    private static void Sources(TextWriter output, Command mount)
    {
        output.WriteLine("Sources (the SOURCE of 'directfuse SOURCE MOUNTPOINT', mount(8) and fstab):");
        Columns(output, mount.Subcommands.Select(k => (SourceSpec.Form(k), k.Description ?? "")));
        foreach (var kind in mount.Subcommands)
        {
            var options = KindOptions.Of(kind);
            if (options.Count == 0) continue;
            output.WriteLine($"-o options of {kind.Name} (--name VALUE of 'directfuse mount {kind.Name}'):");
            Columns(output, options.Select(o => (
                KindOptions.IsSwitch(o.Value) ? o.Key : o.Key + "=VALUE",
                (o.Value.Description ?? "") + (o.Value.Required ? " (required)" : ""))));
        }
    }

    private static void GenericOptions(TextWriter output)
    {
        Section(output, "Generic -o options, honoured:", OptionHandling.Mount, OptionHandling.Server);
        Section(output, "Generic -o options, accepted and ignored (why):", OptionHandling.Ignored);
        Section(output, "Generic -o options, refused (why):", OptionHandling.Refused);
    }

    private static void Section(TextWriter output, string title, params OptionHandling[] handling)
    {
        output.WriteLine(title);
        Columns(output, MountOptionTable.All.Where(o => handling.Contains(o.Handling)).Select(o => (o.Display, o.Help)));
    }

    private static void DaemonMode(TextWriter output) => output.WriteLine("""
        Daemon mode: 'directfuse SOURCE MOUNTPOINT' returns once the mount is live and leaves a daemon serving it
        (exit 0 only after the kernel's INIT was answered; a failure is reported here, with a non-zero exit). -f, -d
        and -o debug serve in the foreground; 'directfuse mount KIND' always does. 'mount -t fuse.directfuse SOURCE
        MOUNTPOINT -o OPTIONS' and the fstab line 'SOURCE MOUNTPOINT fuse.directfuse OPTIONS 0 0' run it through
        mount.fuse3, which looks for 'directfuse' in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin
        and /bin. MOUNTPOINT /dev/fd/N serves a /dev/fuse that the parent opened and mounted (mount.fuse3's
        drop_privileges). With NOTIFY_SOCKET set it notifies systemd: READY=1 once the mount is live, STOPPING=1
        when it ends.
        """);

    /// <summary>Two columns, the second wrapped at word boundaries to the width, followed by an empty line.</summary>
    private static void Columns(TextWriter output, IEnumerable<(string First, string Second)> rows)
    {
        var list = rows.ToList();
        int first = Math.Min(list.Count == 0 ? 0 : list.Max(r => r.First.Length), 28);
        int width = Math.Max(30, Width - Indent - first - Gap);
        foreach (var (name, text) in list)
        {
            var lines = Wrap(text, width);
            string lead = new string(' ', Indent) + name;
            if (name.Length > first)
            {
                output.WriteLine(lead);
                lead = "";
            }
            for (int i = 0; i < lines.Count; i++)
                output.WriteLine((i == 0 && lead.Length > 0 ? lead.PadRight(Indent + first + Gap) : new string(' ', Indent + first + Gap)) + lines[i]);
        }
        output.WriteLine();
    }

    private static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0 || lines.Count == 0) lines.Add(line.ToString());
        return lines;
    }
}
