using System.CommandLine;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// The kind-specific options of a <c>directfuse mount KIND</c> command as <c>-o</c> names: <c>--mmap-mode auto</c>
/// is <c>-o mmap_mode=auto</c>, <c>--no-passthrough</c> is <c>-o no_passthrough</c>. Read from the command itself, so
/// that a new option of a file system is at once an <c>-o</c> option of the mount(8) form too.
/// </summary>
internal static class KindOptions
{
    /// <summary>The options every mount command has; the mount(8) form gives them as generic options (<c>-o</c>, max_threads=, debug).</summary>
    private static readonly string[] Common = ["--options", "--threads", "--debug"];

    /// <summary>The -o name of each kind-specific option of <paramref name="kind"/>.</summary>
    public static IReadOnlyDictionary<string, Option> Of(Command kind) =>
        kind.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && !Common.Contains(o.Name))
            .ToDictionary(o => NameOf(o), o => o);

    /// <summary>The -o name of an option: <c>--mmap-mode</c> is <c>mmap_mode</c>.</summary>
    public static string NameOf(Option option) => option.Name[2..].Replace('-', '_');

    /// <summary>True for an option that takes no value (a switch such as --no-passthrough).</summary>
    public static bool IsSwitch(Option option) => option is Option<bool>;

    /// <summary>
    /// The argument of the mount command for <c>-o name[=value]</c>, always written <c>--name=value</c> so that a
    /// value starting with '-' stays a value. Throws <see cref="ArgumentException"/> when a switch has a value or
    /// an option lacks one.
    /// </summary>
    public static string ToArgument(string name, Option option, string? value)
    {
        if (IsSwitch(option))
            return value is null ? option.Name : throw new ArgumentException($"mount option '{name}' takes no value (got '{name}={value}')");
        return value is { Length: > 0 } ? $"{option.Name}={value}" : throw new ArgumentException($"mount option '{name}' needs a value ({name}=...)");
    }
}
