using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// auto_unmount removes the mount when the server dies, so the path then leads to whatever the mount hid. On a
/// RAM-backed file system that is memory: one warning for file systems, a refusal for devices.
/// </summary>
internal static class AutoUnmountChecks
{
    public const string ForceOption = "--force-auto-unmount";

    /// <summary>The one-line warning for auto_unmount over a RAM-backed path, or null.</summary>
    public static string? Warning(MountOptions options, string mountPoint) =>
        options.AutoUnmount && RamBackedFileSystem.KindOf(mountPoint) is { } kind
            ? $"warning: auto_unmount on '{mountPoint}', which is on {kind} (RAM): if the server dies, writes meant for the mount go to {kind} underneath and take memory"
            : null;

    /// <summary>
    /// The refusal of auto_unmount for a device whose path is on a RAM-backed file system (any path in /dev is,
    /// on devtmpfs), or null.
    /// </summary>
    /// <remarks>
    /// A device's clients are programs like players that reopen the device path and write to it at their own
    /// pace, with no idea that it turned into a plain file: after the server died an auto_unmount handed them
    /// the placeholder file on devtmpfs, and one wrote 2.4 GB of RAM in 5 s. Without auto_unmount a dead device
    /// fails closed: every open and write gets ENOTCONN until the admin runs 'directfuse unmount', which is what
    /// a device should do when its driver is gone. Making the placeholder read-only would not help, as root
    /// ignores its mode. So auto_unmount there is refused unless the admin forces it knowingly.
    /// </remarks>
    public static string? DeviceRefusal(string[] optionLists, string devicePath)
    {
        // An inherited /dev/fd/N was mounted (with or without auto_unmount) by the parent.
        if (FuseMounts.TryParseDeviceFd(devicePath, out _)) return null;
        MountOptions options;
        try
        {
            options = GenericMountOptions.Parse(optionLists, new MountOptions()).Mount;
        }
        catch (ArgumentException)
        {
            return null; // reported by the mount itself
        }
        if (!options.AutoUnmount || RamBackedFileSystem.KindOf(devicePath) is not { } kind) return null;
        return $"auto_unmount on device path '{devicePath}' ({kind}, in RAM) would let clients write into memory once the server is gone; "
            + $"without it they get ENOTCONN until 'directfuse unmount' (use {ForceOption} to mount anyway)";
    }
}
