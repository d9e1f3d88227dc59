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
    private readonly WorkerThreads _workers;
    private readonly ILogger _logger;
    private int _disposed;

    private CuseSession(FuseSessionCore core, FuseChannel channel, int stopFd, CuseDeviceInfo info, ILogger logger)
    {
        _core = core;
        _channel = channel;
        _stopFd = stopFd;
        Info = info;
        _logger = logger;
        _workers = new WorkerThreads(core, logger, "cuse-worker");
    }

    /// <summary>Whether this kernel has CUSE (the /dev/cuse misc device exists).</summary>
    public static bool IsAvailable => File.Exists(CuseDevice);

    /// <summary>The device info the session answered CUSE_INIT with.</summary>
    public CuseDeviceInfo Info { get; }
    /// <summary>Where the kernel created the device (udev or devtmpfs name it /dev/NAME).</summary>
    public string DevicePath => Info.DevicePath;
    /// <summary>
    /// The CUSE connection as negotiated at CUSE_INIT: protocol version and limits (no capability flags: CUSE
    /// negotiates none).
    /// </summary>
    public FuseConnection Connection => _core.Connection;
    /// <summary>Completes with the reason when the workers have stopped.</summary>
    public Task<string> Completion => _workers.Completion;

    /// <summary>
    /// Opens /dev/cuse, answers CUSE_INIT with <paramref name="info"/>, and serves <paramref name="device"/>
    /// on worker threads. Returns once the kernel took the device (it may take udev a moment more to create the node).
    /// </summary>
    public static CuseSession Start(CharacterDevice device, CuseDeviceInfo info, FuseSessionOptions? options = null)
    {
        options ??= new FuseSessionOptions();
        var logger = options.LoggerFactory.CreateLogger("DirectFuse.Cuse");
        // Non-blocking: workers share this fd, and a worker that lost the race for a request must go back to
        // poll(2) (where the stop eventfd reaches it) instead of blocking in read(2) that nothing would wake.
        int fd = Libc.open(CuseDevice, Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NONBLOCK, 0);
        if (fd < 0)
        {
            var errno = Errno.Last;
            throw new MountException(errno == Errno.ENOENT || errno == Errno.ENODEV
                ? "no /dev/cuse on this machine (the kernel is built without CONFIG_CUSE, or the cuse module is not loaded)"
                : $"cannot open /dev/cuse: {errno}", errno);
        }
        int stopFd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        if (stopFd < 0)
        {
            var errno = Errno.Last;
            Libc.close(fd);
            throw new MountException($"eventfd failed: {errno}", errno);
        }
        var server = new CuseDeviceServer(device, info);
        var core = new FuseSessionCore(server.FileSystem, options, logger, info.DevicePath) { Cuse = server };
        var channel = new FuseChannel(fd, CuseDevice);
        core.ControlChannel = channel;
        var session = new CuseSession(core, channel, stopFd, info, logger);
        try
        {
            // /dev/cuse takes no FUSE_DEV_IOC_CLONE: every worker reads the one fd.
            session.StartWorker();
            bool answered = Task.WaitAny([core.InitCompleted], options.InitTimeout) == 0;
            if (core.InitFailure is { } failure)
                throw new MountException($"setting up the device failed: {failure.GetType().Name}: {failure.Message}", failure);
            if (!answered)
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

    // A CUSE channel has no unmount that would end a blocked read(2) with ENODEV: the workers also wait on a stop eventfd.
    private void StartWorker() => _workers.Start(() => _core.RunWorker(_channel, _stopFd));

    /// <summary>Stops the workers and closes the channel: the kernel removes the device and fails its open files with ENODEV.</summary>
    public unsafe void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ulong one = 1;
        Libc.write(_stopFd, (byte*)&one, 8);
        // The last worker runs Destroy once it has stopped.
        if (!_workers.Join(TimeSpan.FromSeconds(5))) return; // still serving: leave their fds alone
        _channel.Dispose();
        Libc.close(_stopFd);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CUSE device {Path} served by {Threads} worker threads")]
    private static partial void LogStarted(ILogger logger, string path, int threads);
}
