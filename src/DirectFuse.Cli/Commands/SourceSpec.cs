using System.CommandLine;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// The SOURCE of <c>directfuse SOURCE MOUNTPOINT</c> (what mount(8) and fstab call the device): the kind of file
/// system, and after a colon the argument that <c>directfuse mount KIND</c> takes before the mount point, if it
/// takes one. <c>memfs</c>, <c>shmfs</c>, <c>fmmap</c>, <c>ossdsp</c>, <c>loopback:/srv/data</c>. The whole text is
/// also the default fsname, so /proc/mounts and df show it as the source.
/// </summary>
/// <param name="Kind">The file system (a subcommand of <c>directfuse mount</c>).</param>
/// <param name="Argument">What follows the first colon, or null.</param>
/// <param name="Command">The <c>directfuse mount KIND</c> command that serves it.</param>
internal sealed record SourceSpec(string Kind, string? Argument, Command Command)
{
    /// <summary>Every source form, for messages and help: <c>memfs</c>, <c>loopback:SOURCE</c>, ...</summary>
    public static IEnumerable<string> Forms(Command mount) => mount.Subcommands.Select(Form);

    /// <summary>How a kind is written as a source: its name, and <c>:ARG</c> if it takes an argument.</summary>
    public static string Form(Command kind) =>
        kind.Arguments.Count > 1 ? $"{kind.Name}:{kind.Arguments[0].Name}" : kind.Name;

    /// <summary>Parses <paramref name="source"/>; a one-line <see cref="ArgumentException"/> if it names no file system or has the wrong argument.</summary>
    public static SourceSpec Parse(string source, Command mount)
    {
        int colon = source.IndexOf(':');
        string kind = colon < 0 ? source : source[..colon];
        string? argument = colon < 0 ? null : source[(colon + 1)..];
        var command = mount.Subcommands.FirstOrDefault(c => c.Name == kind)
            ?? throw new ArgumentException($"unknown source '{TerminalText.Escape(source)}': expected {string.Join(", ", Forms(mount))}");
        // The last argument of every mount command is where it mounts; one before it is the kind's own.
        bool takesArgument = command.Arguments.Count > 1;
        if (takesArgument && string.IsNullOrEmpty(argument))
            throw new ArgumentException($"source '{kind}' needs its argument: {Form(command)} ({command.Arguments[0].Description})");
        if (!takesArgument && argument is not null)
            throw new ArgumentException($"source '{kind}' takes no argument (got '{TerminalText.Escape(source)}')");
        return new SourceSpec(kind, argument, command);
    }
}
