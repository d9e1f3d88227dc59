using DirectFuse.Interop;

namespace DirectFuse.Session;

/// <summary>
/// The cap on requests held at once (<see cref="FuseSessionOptions.MaxPendingRequests"/>): one slot for the
/// request each worker has ready to read into, and one for every request whose handler went asynchronous.
/// </summary>
/// <remarks>
/// <para>A worker keeps its slot across synchronous requests, so the hot path never touches the semaphore. When
/// a handler goes asynchronous the slot goes with it (released when it completes) and the worker needs a new
/// one before it reads again. With none left, it stops reading: the kernel keeps queueing what callers send,
/// so memory stays bounded, instead of growing by a request object per waiting caller.</para>
/// <para>The price is that at the cap nothing is read, INTERRUPT and the request that would release the
/// waiters (an unlock) included, until a handler completes: cap-many handlers that wait for something only a
/// further request can bring stall the mount until one of them times out or the connection is aborted. No
/// design avoids this without giving up the bound (reading on means holding what is read, or answering it with
/// an error callers do not expect), so the cap is set far above what waits in practice; memory, not the cap,
/// was the problem, and a waiting request now costs a few KiB.</para>
/// </remarks>
internal sealed class PendingLimit(int max)
{
    // How often a worker waiting for a slot checks that its channel is still open (unmount, abort, stop fd).
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(100);
    private readonly SemaphoreSlim _slots = new(Math.Max(1, max), Math.Max(1, max));

    /// <summary>Slots free now.</summary>
    public int Free => _slots.CurrentCount;

    /// <summary>
    /// Takes a slot, waiting while there is none; null once taken, or why the worker should stop (the
    /// channel closed while it waited: the handlers holding the slots may never complete by themselves).
    /// </summary>
    public string? Acquire(FuseChannel channel, int stopFd)
    {
        while (!_slots.Wait(CheckInterval))
            if (Closed(channel, stopFd) is { } reason) return reason;
        return null;
    }

    public void Release() => _slots.Release();

    private static unsafe string? Closed(FuseChannel channel, int stopFd)
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = channel.Fd, Events = 0 };
        fds[1] = new Libc.PollFd { Fd = stopFd, Events = Libc.POLLIN };
        if (Libc.poll(fds, stopFd >= 0 ? 2u : 1u, 0) <= 0) return null;
        if (stopFd >= 0 && fds[1].REvents != 0) return "stopped";
        // POLLERR: /dev/fuse after unmount or abort; POLLHUP: the peer of a socket closed; POLLNVAL: fd closed.
        return fds[0].REvents != 0 ? "channel closed" : null;
    }
}
