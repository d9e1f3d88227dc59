using System.Text;

namespace DirectFuse.Cuse;

/// <summary>
/// What a CUSE server tells the kernel about its device in the CUSE_INIT reply: the name under /dev
/// (<c>DEVNAME=</c>), the device number (0:0 lets the kernel pick a free major), and whether ioctls are
/// unrestricted.
/// </summary>
public sealed record CuseDeviceInfo
{
    /// <param name="name">The device's name under /dev, e.g. "dsp" or "snd/dsp1".</param>
    public CuseDeviceInfo(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('\0')) throw new ArgumentException("the device name must be non-empty and have no NUL", nameof(name));
        Name = name;
    }

    /// <summary>
    /// The device's name under /dev, sent as <c>DEVNAME=</c>; may contain slashes for a subdirectory ("snd/dsp1").
    /// </summary>
    public string Name { get; }
    /// <summary>0: the kernel allocates a major number.</summary>
    public uint DevMajor { get; init; }
    /// <summary>The minor device number; with <see cref="DevMajor"/> 0 the kernel chooses both.</summary>
    public uint DevMinor { get; init; }
    /// <summary>Ask for CUSE_UNRESTRICTED_IOCTL: ioctls may name any memory of the caller (FUSE_IOCTL_RETRY).</summary>
    public bool UnrestrictedIoctl { get; init; } = true;
    /// <summary>Further "KEY=value" strings (mainline only knows DEVNAME and logs others as unknown).</summary>
    public IReadOnlyList<string> ExtraInfo { get; init; } = [];

    /// <summary>The device info strings as sent after <c>cuse_init_out</c>: each "KEY=value" with a NUL after it.</summary>
    public byte[] ToInfoBytes()
    {
        var text = new StringBuilder().Append("DEVNAME=").Append(Name).Append('\0');
        foreach (var extra in ExtraInfo) text.Append(extra).Append('\0');
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        // The kernel reads at most one page (CUSE_INIT_INFO_MAX) of device info.
        if (bytes.Length > 4096) throw new ArgumentException("the CUSE device info exceeds 4096 bytes");
        return bytes;
    }

    /// <summary>The character device's path once the kernel created it.</summary>
    public string DevicePath => "/dev/" + Name;
}
