using System.Globalization;
using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary>The generic <c>-o</c> options of one mount, sorted by who acts on them.</summary>
/// <param name="Mount">What mount(2) or fusermount3 gets.</param>
/// <param name="Threads">max_threads=N (or threads=N), when given: it overrides --threads.</param>
/// <param name="Debug">-o debug.</param>
/// <param name="Notes">One line per option that was given but does nothing here (fstab's options excepted).</param>
/// <param name="IoUring">-o io_uring: serve over FUSE-over-io_uring where the kernel allows it.</param>
internal sealed record ParsedMountOptions(MountOptions Mount, int? Threads, bool Debug, IReadOnlyList<string> Notes, bool IoUring = false);

/// <summary>Parses <c>-o</c> lists against <see cref="MountOptionTable"/>: one <see cref="ArgumentException"/> line for the first bad option.</summary>
internal static class GenericMountOptions
{
    public static ParsedMountOptions Parse(IEnumerable<string> lists, MountOptions start)
    {
        var forMount = new List<string>();
        var notes = new List<string>();
        int? threads = null;
        bool debug = false, ioUring = false;
        foreach (var list in lists)
            foreach (var raw in MountOptions.Split(list))
            {
                string item = MountOptions.Unescape(raw);
                int eq = item.IndexOf('=');
                string key = eq < 0 ? item : item[..eq];
                string? value = eq < 0 ? null : item[(eq + 1)..];
                var info = MountOptionTable.Find(key, value is not null)
                    ?? throw new ArgumentException($"unknown or malformed mount option '{item}'");
                if (!info.IsFamily && (info.Value is null) != (value is null))
                    throw new ArgumentException(info.Value is null
                        ? $"mount option '{key}' takes no value (got '{item}')"
                        : $"mount option '{key}' needs a value ({info.Display})");
                switch (info.Handling)
                {
                    case OptionHandling.Mount:
                        forMount.Add(raw);
                        break;
                    case OptionHandling.Server when key is "debug":
                        debug = true;
                        break;
                    case OptionHandling.Server when key is "io_uring":
                        ioUring = true;
                        break;
                    case OptionHandling.Server when key is "max_threads" or "threads":
                        threads = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && OptionChecks.Threads(n) is null
                            ? n
                            : throw new ArgumentException($"mount option '{key}' must be between 1 and {OptionChecks.MaxThreads} (got '{value}')");
                        break;
                    case OptionHandling.Server:
                        break; // always on
                    case OptionHandling.Ignored:
                        if (!info.Quiet) notes.Add($"-o {key} ignored: {info.Help}");
                        break;
                    default:
                        throw new ArgumentException($"mount option '{key}' is not supported: {info.Help}");
                }
            }
        return new ParsedMountOptions(MountOptions.Parse([string.Join(',', forMount)], start), threads, debug, notes, ioUring);
    }
}
