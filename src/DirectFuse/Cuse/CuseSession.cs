using System.Runtime.InteropServices;
using DirectFuse.Devices;
using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Cuse;

/// <summary>
/// A <see cref="CharacterDevice"/> served as a real character device through /dev/cuse: no mount; the kernel
/// creates <c>/dev/NAME</c> when CUSE_INIT is answered and removes it when the channel is closed (Dispose).
/// Needs CONFIG_CUSE and, in practice, root (/dev/cuse is 0600).
/// </summary>
public sealed partial class CuseSession : IDisposable
{
    private const string CuseDevice = "/dev/cuse";
    private readonly FuseSessionCore _core;
    private readonly FuseChannel _channel;
    private readonly int _stopFd;
    private readonly List<Thread> _workers = [];
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<string> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private int _disposed;

    private CuseSession(FuseSessionCore core, FuseChannel channel, int stopFd, CuseDeviceInfo info, ILogger logger)
    {
        _core = core;
        _channel = channel;
        _stopFd = stopFd;
        Info = info;
        _logger = logger;
    }

    /// <summary>Whether this kernel has CUSE (the /dev/cuse misc device exists).</summary>
    public static bool IsAvailable => File.Exists(CuseDevice);

    public CuseDeviceInfo Info { get; }
    /// <summary>Where the kernel created the device (udev or devtmpfs name it /dev/NAME).</summary>
    public string DevicePath => Info.DevicePath;
    public FuseConnection Connection => _core.Connection;
    /// <summary>Completes with the reason when the workers have stopped.</summary>
    public Task<string> Completion => _completion.Task;

    /// <summary>
    /// Opens /dev/cuse, answers CUSE_INIT with <paramref name="info"/>, and serves <paramref name="device"/>
    /// on worker threads. Returns once the kernel took the device (it may take udev a moment more to create the node).
    /// </summary>
    public static CuseSession Start(CharacterDevice device, CuseDeviceInfo info, FuseSessionOptions? options = null)
    {
        options ??= new FuseSessionOptions();
        var logger = options.LoggerFactory.CreateLogger("DirectFuse.Cuse");
        int fd = Libc.open(CuseDevice, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = Errno.Last;
            throw new MountException(errno == Errno.ENOENT || errno == Errno.ENODEV
                ? "no /dev/cuse on this machine (the kernel is built without CONFIG_CUSE, or the cuse module is not loaded)"
                : $"cannot open /dev/cuse: {errno}", errno);
        }
        int stopFd = eventfd(0, EFD_CLOEXEC);
        var fs = new DeviceFileSystem(device, info);
        var core = new FuseSessionCore(fs, options, logger) { IsCuse = true };
        var channel = new FuseChannel(fd, CuseDevice);
        core.ControlChannel = channel;
        var session = new CuseSession(core, channel, stopFd, info, logger);
        try
        {
            // /dev/cuse takes no FUSE_DEV_IOC_CLONE: every worker reads the one fd.
            session.StartWorker();
            if (!core.InitCompleted.Wait(options.InitTimeout))
                throw new MountException($"the kernel did not send CUSE_INIT within {options.InitTimeout.TotalSeconds:0}s");
            for (int i = 1; i < Math.Max(1, options.Threads); i++) session.StartWorker();
            LogStarted(logger, info.DevicePath, session._workers.Count);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void StartWorker()
    {
        var thread = new Thread(Work) { IsBackground = true, Name = $"cuse-worker-{_workers.Count}" };
        _workers.Add(thread);
        Interlocked.Increment(ref _running);
        thread.Start();
    }

    private void Work()
    {
        string reason;
        try
        {
            reason = Serve();
        }
        catch (Exception e)
        {
            reason = "worker failed: " + e.Message;
            LogWorkerFailed(_logger, e);
        }
        if (Interlocked.Decrement(ref _running) == 0)
        {
            _core.Notifier.FailPending();
            _core.RunDestroy();
            _completion.TrySetResult(reason);
        }
    }

    /// <summary>
    /// The worker loop of <see cref="FuseSessionCore.RunWorker"/>, but waiting in poll(2) with a stop eventfd:
    /// a CUSE channel has no unmount that would end a blocked read(2) with ENODEV.
    /// </summary>
    private unsafe string Serve()
    {
        var request = Rent();
        var fds = stackalloc PollFd[2];
        while (true)
        {
            fds[0] = new PollFd { Fd = _channel.Fd, Events = POLLIN };
            fds[1] = new PollFd { Fd = _stopFd, Events = POLLIN };
            int rc = poll(fds, 2, -1);
            if (rc < 0)
            {
                if (Marshal.GetLastPInvokeError() == 4) continue;
                _core.Pool.Return(request);
                return $"poll failed: {Errno.Last}";
            }
            if (fds[1].REvents != 0)
            {
                _core.Pool.Return(request);
                return "stopped";
            }
            if ((fds[0].REvents & POLLIN) == 0)
            {
                _core.Pool.Return(request);
                return "channel closed";
            }
            int n = _channel.Read(request.InBuffer);
            if (n < 0)
            {
                int errno = -n;
                if (errno is 2 or 4 or 11) continue;
                _core.Pool.Return(request);
                return errno == Errno.ENODEV.Value ? "device removed" : $"read failed: {new Errno(errno)}";
            }
            if (n == 0 || !request.Load(n)) continue;
            var pending = _core.Dispatcher.DispatchAsync(request);
            if (pending.IsCompleted)
            {
                pending.GetAwaiter().GetResult();
                continue;
            }
            _ = RecycleWhenDone(pending, request);
            request = Rent();
        }
    }

    private FuseRequest Rent()
    {
        var request = _core.Pool.Rent();
        request.Channel = _channel;
        return request;
    }

    private async Task RecycleWhenDone(ValueTask pending, FuseRequest request)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        finally
        {
            _core.Pool.Return(request);
        }
    }

    /// <summary>Stops the workers and closes the channel: the kernel removes the device and fails its open files with ENODEV.</summary>
    public unsafe void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ulong one = 1;
        write(_stopFd, &one, 8);
        foreach (var t in _workers) t.Join(TimeSpan.FromSeconds(5));
        _channel.Dispose();
        Libc.close(_stopFd);
        _core.RunDestroy();
        _completion.TrySetResult("disposed");
    }

    private const short POLLIN = 1;
    private const int EFD_CLOEXEC = 0x80000;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint write(int fd, void* buf, nint count);

    [LoggerMessage(Level = LogLevel.Information, Message = "CUSE device {Path} served by {Threads} worker threads")]
    private static partial void LogStarted(ILogger logger, string path, int threads);

    [LoggerMessage(Level = LogLevel.Critical, Message = "A CUSE worker thread failed")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception);
}
