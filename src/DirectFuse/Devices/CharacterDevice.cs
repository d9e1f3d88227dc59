using DirectFuse.LowLevel;

namespace DirectFuse.Devices;

/// <summary>
/// A character device served from user space, written once and hosted two ways: on CUSE as a real
/// <c>/dev/NAME</c> (<see cref="Cuse.CuseSession"/>), or on FUSE as a single-file mount on any path whose root
/// node is the device (<see cref="DeviceFileSystem"/>; works where CUSE is not built into the kernel).
/// </summary>
/// <remarks>
/// <para><b>Blocking.</b> Handlers are asynchronous: a read or write that has to wait awaits (no worker thread
/// is held). With <see cref="DeviceIo.NonBlocking"/> answer <see cref="Errno.EAGAIN"/> instead of waiting. A
/// waiting caller that gets a signal cancels the <see cref="CancellationToken"/>: return what was transferred
/// so far, or let the <see cref="OperationCanceledException"/> escape, which answers EINTR.</para>
/// <para><b>ioctl.</b> On FUSE the kernel copies the argument by the size and direction in the command number
/// (restricted); on CUSE the device may ask for any memory of the caller (<see cref="IoctlResult.Retry"/>).
/// With <see cref="RetryIoctlsByCommandNumber"/> (the default) the CUSE host does that retry itself, so a
/// device written for the restricted kind runs unchanged on both.</para>
/// <para><b>mmap.</b> A device that returns a <see cref="DeviceBuffer"/> from <see cref="Buffer"/> can be mapped
/// on the FUSE host (CUSE in mainline has no mmap). See <see cref="DeviceBuffer"/> for the two mechanisms and
/// what they mean for read and write.</para>
/// </remarks>
public abstract class CharacterDevice
{
    /// <summary>Permission bits of the device file (FUSE host: reported by GETATTR; CUSE: set by udev rules, not us).</summary>
    public virtual uint Permissions => 0x1B6; // 0666

    /// <summary>The buffer clients map (null: mmap is refused or private only).</summary>
    public virtual DeviceBuffer? Buffer => null;

    /// <summary>Whether the CUSE host turns an unrestricted ioctl into the restricted kind by its command number (see the remarks).</summary>
    public virtual bool RetryIoctlsByCommandNumber => true;

    /// <summary>open(2). Return a <see cref="DeviceFile"/> (or a subclass) for the new open, or an errno such as EBUSY.</summary>
    public virtual ValueTask<Result<DeviceFile>> OpenAsync(FuseContext caller, int flags, CancellationToken cancellationToken) =>
        new(new DeviceFile(flags));

    /// <summary>read(2): fill <paramref name="buffer"/>; return the count (0: end of file).</summary>
    public virtual ValueTask<Result<int>> ReadAsync(DeviceFile file, Memory<byte> buffer, DeviceIo io, CancellationToken cancellationToken) =>
        new(Errno.EINVAL);

    /// <summary>write(2): return how many bytes were taken.</summary>
    public virtual ValueTask<Result<int>> WriteAsync(DeviceFile file, ReadOnlyMemory<byte> data, DeviceIo io, CancellationToken cancellationToken) =>
        new(Errno.EINVAL);

    /// <summary>ioctl(2). Unknown commands: <see cref="Errno.ENOTTY"/>.</summary>
    public virtual ValueTask<Result<IoctlResult>> IoctlAsync(DeviceFile file, DeviceIoctl request, CancellationToken cancellationToken) =>
        new(Errno.ENOTTY);

    /// <summary>
    /// poll(2)/select(2)/epoll: return the ready events among <paramref name="requested"/>. If none is ready and
    /// <paramref name="waiter"/> is set, keep it and call <see cref="PollWaiter.Wake"/> when one becomes ready.
    /// </summary>
    public virtual ValueTask<Result<PollEvents>> PollAsync(DeviceFile file, PollEvents requested, PollWaiter? waiter, CancellationToken cancellationToken) =>
        new(PollEvents.In | PollEvents.Out | PollEvents.RdNorm | PollEvents.WrNorm);

    /// <summary>
    /// close(2) of one file descriptor (every close, also of dups) on a FUSE-node host. A device may wait here,
    /// e.g. to drain output. CUSE never sends it: see <see cref="ReleaseAsync"/>.
    /// </summary>
    public virtual ValueTask<Errno> FlushAsync(DeviceFile file, CancellationToken cancellationToken) => new(Errno.Ok);

    /// <summary>
    /// The last reference to the open is gone (after the last close and munmap on CUSE; last close on FUSE).
    /// The CUSE kernel sends no FLUSH at close(2), only this, and the closing process waits for it without being
    /// interruptible, so a device that must finish work when a file closes (drain output) does it here too, within
    /// a bound of its own; on a FUSE node close(2) has already returned (FLUSH did that work).
    /// </summary>
    public virtual ValueTask ReleaseAsync(DeviceFile file, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Whether <paramref name="file"/>'s mmap uses <see cref="Buffer"/>; by default every open when there is one.</summary>
    /// <remarks>
    /// In <see cref="DirectMmap.DirectMmapMode.Passthrough"/> mode an open that maps the buffer also reads and
    /// writes it with read(2)/write(2), without the device seeing them; override to keep write() streams for
    /// some opens (the OSS example maps only O_RDWR opens in that mode). On kernels before 6.6 the page-cache host
    /// asks with Passthrough too: the opens it maps are cached there, so their read(2) returns the buffer.
    /// </remarks>
    public virtual bool MapsBuffer(DeviceFile file, DirectMmap.DirectMmapMode mode) => Buffer is not null;

    /// <summary>Called by a host when it stops serving the device (unmount, CUSE channel closed).</summary>
    public virtual void HostStopped() { }
}
