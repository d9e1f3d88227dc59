using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Fuzz;

/// <summary>
/// The kernel's end of a connection, as the protocol tests' fake kernel: a SOCK_SEQPACKET socketpair (one
/// message per read and write, like /dev/fuse) whose other end is served by the real engine's workers. The
/// engine's own libc bindings serve both ends.
/// </summary>
internal sealed unsafe class FuzzKernel : IDisposable
{
    private const int EINTR = 4;

    private int _kernelFd;
    private readonly List<Thread> _workers = [];
    private readonly List<string> _stopReasons = [];
    private readonly byte[] _readBuffer = GC.AllocateUninitializedArray<byte>(2 << 20, pinned: true);

    public FuzzKernel(LowLevelFileSystem fileSystem, ICuseServer? cuse, int workers, ILogger logger)
    {
        int* sv = stackalloc int[2];
        if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0, sv) != 0)
            throw new InvalidOperationException($"socketpair failed: errno {Libc.LastErrno}");
        _kernelFd = sv[0];
        Channel = new FuseChannel(sv[1], "fuzz");
        Core = new FuseSessionCore(fileSystem, new FuseSessionOptions { MaxWrite = MaxWrite, Threads = workers }, logger)
        {
            ControlChannel = Channel,
            Cuse = cuse,
        };
        for (int i = 0; i < workers; i++)
        {
            var thread = new Thread(Work) { IsBackground = true, Name = $"fuzz-worker-{i}" };
            _workers.Add(thread);
            thread.Start();
        }
    }

    /// <summary>The session's max_write: requests are read into buffers of about this size.</summary>
    public const uint MaxWrite = 64 * 1024;

    public FuseSessionCore Core { get; }
    public FuseChannel Channel { get; }

    /// <summary>Why workers stopped so far; any before <see cref="Dispose"/> is a finding.</summary>
    public IReadOnlyList<string> StopReasons { get { lock (_stopReasons) return [.. _stopReasons]; } }

    private void Work()
    {
        string reason;
        try
        {
            reason = Core.RunWorker(Channel);
        }
        catch (Exception e)
        {
            reason = "worker failed: " + e;
        }
        lock (_stopReasons) _stopReasons.Add(reason);
    }

    /// <summary>Writes one request; false if the engine's end refused it (a message larger than the socket takes).</summary>
    public bool Send(ReadOnlySpan<byte> message)
    {
        fixed (byte* p = message)
            return Libc.write(_kernelFd, p, message.Length) == message.Length;
    }

    /// <summary>The next message from the engine (its exact bytes), or null if none comes within <paramref name="timeoutMs"/>.</summary>
    public ReadOnlySpan<byte> TryRead(int timeoutMs, out bool got)
    {
        got = false;
        var pfd = new Libc.PollFd { Fd = _kernelFd, Events = Libc.POLLIN };
        int rc;
        do rc = Libc.poll(&pfd, 1, timeoutMs);
        while (rc < 0 && Libc.LastErrno == EINTR);
        if (rc <= 0) return default;
        nint n;
        fixed (byte* p = _readBuffer) n = Libc.read(_kernelFd, p, _readBuffer.Length);
        if (n < 0) return default;
        got = true;
        return _readBuffer.AsSpan(0, (int)n);
    }

    /// <summary>Closes the kernel end and joins the workers; false if one is still running after <paramref name="timeout"/>.</summary>
    public bool Stop(TimeSpan timeout)
    {
        int fd = Interlocked.Exchange(ref _kernelFd, -1);
        if (fd < 0) return true;
        Libc.close(fd);
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        foreach (var t in _workers)
            if (!t.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)))) return false;
        Core.Notifier.FailPending();
        Channel.Dispose();
        return true;
    }

    public void Dispose() => Stop(TimeSpan.FromSeconds(10));
}
