using System.CommandLine;
using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary>What <c>directfuse SOURCE MOUNTPOINT ...</c> runs.</summary>
/// <param name="MountArguments">The equivalent <c>directfuse mount KIND ...</c> command line.</param>
/// <param name="Foreground">-f, -d or -o debug: serve in this process instead of a daemon.</param>
/// <param name="Description">"memfs on /mnt", for status lines.</param>
internal sealed record ServePlan(IReadOnlyList<string> MountArguments, bool Foreground, string Description);

/// <summary>
/// The mount(8) form, <c>directfuse SOURCE MOUNTPOINT [-o OPTIONS] [-f] [-d] [-s]</c>: what mount.fuse3 runs for
/// <c>mount -t fuse.directfuse SOURCE MOUNTPOINT -o OPTIONS</c> and for an fstab line. libfuse's conventions: it
/// returns once the mount is live, leaving a daemon to serve it, unless -f (or -d) keeps it in the foreground. It
/// is translated into the <c>directfuse mount KIND</c> command that serves the same file system, so both forms
/// check and serve alike: kind-specific <c>-o name=value</c> options become that command's <c>--name value</c>.
/// </summary>
internal sealed class ServeForm
{
    public Argument<string?> Source { get; } = new("SOURCE")
    {
        Arity = ArgumentArity.ZeroOrOne,
        Description = "The file system and its argument: memfs, shmfs, fmmap, ossdsp, loopback:DIRECTORY (also the source shown by df)",
    };

    public Argument<string?> MountPoint { get; } = new("MOUNTPOINT")
    {
        Arity = ArgumentArity.ZeroOrOne,
        Description = "Where to mount (ossdsp: the device file), or /dev/fd/N for a /dev/fuse that the parent already mounted",
    };

    public Option<string[]> Options { get; } = new("--options", "-o")
    {
        Description = "Mount options, comma separated: the file system's own (size=16M, policy=uid, ...) and the generic ones listed below",
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    public Option<bool> Foreground { get; } = new("--foreground", "-f") { Description = "Serve in the foreground instead of returning once the mount is live" };

    public Option<bool> Debug { get; } = new("--debug", "-d") { Description = "Print every request; implies -f (also -o debug)" };

    public Option<bool> SingleThread { get; } = new("--single-thread", "-s") { Description = "One worker thread (max_threads=1)" };

    public void AddTo(Command root)
    {
        root.Add(Source);
        root.Add(MountPoint);
        root.Add(Options);
        root.Add(Foreground);
        root.Add(Debug);
        root.Add(SingleThread);
    }

    /// <summary>True when <paramref name="result"/> is this form: the root command with a SOURCE.</summary>
    public bool Matches(ParseResult result) => result.CommandResult.Command is RootCommand && result.GetValue(Source) is not null;

    /// <summary>
    /// The plan for <paramref name="result"/>; a one-line <see cref="ArgumentException"/> for anything wrong that can
    /// be told before serving (an unknown source or option, a missing mount point).
    /// </summary>
    public ServePlan Plan(ParseResult result, Command mount)
    {
        string source = result.GetValue(Source)!;
        string mountPoint = result.GetValue(MountPoint)
            ?? throw new ArgumentException($"missing MOUNTPOINT (directfuse {TerminalText.Escape(source)} MOUNTPOINT [-o OPTIONS]; directfuse --help)");
        var spec = SourceSpec.Parse(source, mount);
        var kindOptions = KindOptions.Of(spec.Command);
        var arguments = new List<string> { "mount", spec.Kind };
        // The source is the mount's name in /proc/mounts and df; the type is fuse.directfuse, as fstab says.
        var generic = new List<string> { "fsname=" + MountOptions.Escape(source), "subtype=directfuse" };
        bool debug = result.GetValue(Debug);
        // By name, so that a later -o size= replaces an earlier one, as for every other option.
        var kindArguments = new Dictionary<string, string>();
        foreach (var list in result.GetValue(Options) ?? [])
            foreach (var raw in MountOptions.Split(list))
            {
                string item = MountOptions.Unescape(raw);
                int eq = item.IndexOf('=');
                string name = eq < 0 ? item : item[..eq];
                if (kindOptions.TryGetValue(name, out var option))
                    kindArguments[name] = KindOptions.ToArgument(name, option, eq < 0 ? null : item[(eq + 1)..]);
                else
                {
                    generic.Add(raw);
                    debug |= item == "debug";
                }
            }
        arguments.AddRange(kindArguments.Values);
        bool foreground = result.GetValue(Foreground) || debug;
        if (!foreground && FuseMounts.TryParseDeviceFd(mountPoint, out int fd) && fd <= 2)
            throw new ArgumentException($"{mountPoint} is one of the standard descriptors, which the daemon replaces with /dev/null: pass the /dev/fuse fd as 3 or higher, or serve in the foreground with -f");
        // -s wins over any max_threads=, as in libfuse.
        if (result.GetValue(SingleThread)) generic.Add("max_threads=1");
        // Refuses unknown and unsupported options here, before a daemon is started; the mount command parses them again.
        try
        {
            GenericMountOptions.Parse([string.Join(',', generic)], new MountOptions());
        }
        catch (ArgumentException e) when (e.Message.StartsWith("unknown", StringComparison.Ordinal))
        {
            throw new ArgumentException(e.Message + (kindOptions.Count == 0
                ? $" ({spec.Kind} has no options of its own; directfuse --help lists the generic ones)"
                : $" ({spec.Kind}'s own: {string.Join(", ", kindOptions.Keys)}; directfuse --help lists the generic ones)"));
        }
        arguments.Add("-o");
        arguments.Add(string.Join(',', generic));
        if (debug) arguments.Add("--debug");
        arguments.Add("--");
        if (spec.Argument is not null) arguments.Add(spec.Argument);
        arguments.Add(mountPoint);
        return new ServePlan(arguments, foreground, $"{source} on {mountPoint}");
    }
}
