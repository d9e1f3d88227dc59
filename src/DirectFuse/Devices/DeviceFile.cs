namespace DirectFuse.Devices;

/// <summary>
/// One open file of a <see cref="CharacterDevice"/>: what open(2) created and close(2) releases. Devices keep
/// their per-open state here (subclass it, or use <see cref="State"/>).
/// </summary>
public class DeviceFile
{
    private const int O_ACCMODE = 3, O_NONBLOCK = 0x800;
    private volatile bool _nonBlockingByIoctl;

    /// <param name="openFlags">The flags of open(2) as the kernel passed them.</param>
    public DeviceFile(int openFlags) => OpenFlags = openFlags;

    /// <summary>open(2)'s flags (O_CREAT, O_EXCL and O_NOCTTY are filtered by the kernel).</summary>
    public int OpenFlags { get; }

    /// <summary>O_RDONLY 0, O_WRONLY 1, O_RDWR 2.</summary>
    public int AccessMode => OpenFlags & O_ACCMODE;
    /// <summary>True when opened for reading (O_RDONLY or O_RDWR).</summary>
    public bool CanRead => AccessMode is 0 or 2;
    /// <summary>True when opened for writing (O_WRONLY or O_RDWR).</summary>
    public bool CanWrite => AccessMode is 1 or 2;

    /// <summary>
    /// Makes every later read and write of this open non-blocking regardless of O_NONBLOCK, as an ioctl such as
    /// OSS's SNDCTL_DSP_NONBLOCK does. O_NONBLOCK itself (also when changed with fcntl) arrives with each request.
    /// </summary>
    public bool NonBlockingByIoctl
    {
        get => _nonBlockingByIoctl;
        set => _nonBlockingByIoctl = value;
    }

    /// <summary>Whether a request that carries the file flags <paramref name="requestFlags"/> must not block.</summary>
    public bool IsNonBlocking(int requestFlags) => _nonBlockingByIoctl || (requestFlags & O_NONBLOCK) != 0;

    /// <summary>Free for the device's own per-open state.</summary>
    public object? State { get; set; }

    /// <summary>Whether this open's mmap goes to the device's <see cref="DeviceBuffer"/> (decided by the host at open).</summary>
    public bool MapsBuffer { get; internal set; }
}
