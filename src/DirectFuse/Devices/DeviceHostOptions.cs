using DirectFuse.DirectMmap;

namespace DirectFuse.Devices;

/// <summary>How the FUSE host serves a device.</summary>
public sealed record DeviceHostOptions
{
    /// <summary>
    /// How clients map the device's <see cref="CharacterDevice.Buffer"/>. Default <see cref="DirectMmapMode.PageCache"/>:
    /// it keeps write(2) reaching the device on every open. <see cref="DirectMmapMode.Passthrough"/> falls back to
    /// the page cache when the kernel or the privileges do not allow it.
    /// </summary>
    public DirectMmapMode MmapMode { get; init; } = DirectMmapMode.PageCache;

    /// <summary>Owner reported for the device file (default: the server's effective ids).</summary>
    public uint? Uid { get; init; }
    /// <summary>Group reported for the device file (default: the server's effective group).</summary>
    public uint? Gid { get; init; }
}
