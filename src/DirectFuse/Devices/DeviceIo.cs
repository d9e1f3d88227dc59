using DirectFuse.LowLevel;

namespace DirectFuse.Devices;

/// <summary>How one read or write reached the device: the caller and whether it may block.</summary>
/// <param name="Caller">uid, gid and pid of the calling thread.</param>
/// <param name="NonBlocking">
/// O_NONBLOCK was set on the file when the request was made (or <see cref="DeviceFile.NonBlockingByIoctl"/>):
/// answer <see cref="Errno.EAGAIN"/> instead of waiting when nothing can be transferred.
/// </param>
public readonly record struct DeviceIo(FuseContext Caller, bool NonBlocking);

/// <summary>poll(2) event bits (POLLIN 1, POLLPRI 2, POLLOUT 4, POLLERR 8, POLLHUP 16, POLLRDNORM 64, POLLWRNORM 256).</summary>
[Flags]
public enum PollEvents : uint
{
    /// <summary>No event.</summary>
    None = 0,
    /// <summary>POLLIN: there is data to read.</summary>
    In = 0x001,
    /// <summary>POLLPRI: an exceptional condition (urgent data).</summary>
    Pri = 0x002,
    /// <summary>POLLOUT: writing will not block.</summary>
    Out = 0x004,
    /// <summary>POLLERR: an error condition (reported even if not asked for).</summary>
    Err = 0x008,
    /// <summary>POLLHUP: the other side hung up (reported even if not asked for).</summary>
    Hup = 0x010,
    /// <summary>POLLRDNORM: normal data can be read (as POLLIN for most devices).</summary>
    RdNorm = 0x040,
    /// <summary>POLLWRNORM: normal data can be written (as POLLOUT for most devices).</summary>
    WrNorm = 0x100,
}

/// <summary>
/// A blocked poll(2), select(2) or epoll waiter to wake once the device becomes ready. The kernel gives one
/// per POLL request it wants to be told about (FUSE_POLL_SCHEDULE_NOTIFY); <see cref="Wake"/> sends NOTIFY_POLL,
/// after which the kernel polls again. Waking a waiter that is gone is harmless.
/// </summary>
public sealed class PollWaiter
{
    private readonly Func<ulong, Errno> _wake;

    internal PollWaiter(ulong kernelHandle, Func<ulong, Errno> wake)
    {
        KernelHandle = kernelHandle;
        _wake = wake;
    }

    /// <summary>The kernel's poll handle (kh).</summary>
    public ulong KernelHandle { get; }

    /// <summary>Sends the wake-up; returns the kernel's answer (ENOENT when nobody waits on it any more).</summary>
    public Errno Wake() => _wake(KernelHandle);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PollWaiter w && w.KernelHandle == KernelHandle;
    /// <inheritdoc/>
    public override int GetHashCode() => KernelHandle.GetHashCode();
}
