using System.CommandLine;
using DirectFuse.Cli.Commands;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Cli;

/// <summary>Mounts a file system, serves it in the foreground, and unmounts on SIGINT, SIGTERM, SIGHUP or SIGQUIT.</summary>
internal static class MountRunner
{
    /// <summary>After a signal: how long clients with open files keep the lazily detached mount before the connection is aborted.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(1);
    /// <summary>After the abort: how long the workers get to finish the handlers they are in.</summary>
    private static readonly TimeSpan ShutdownAfterAbort = TimeSpan.FromSeconds(3);
    /// <summary>
    /// From the signal to the watchdog forcing the mount away, which then exits within 3 s more: 9 s at worst,
    /// under the 10 s an admin should have to wait (a service manager waits longer: systemd 90 s). Above grace
    /// and after-abort together plus an unmount, so that the watchdog only acts when the kernel itself keeps
    /// the shutdown waiting.
    /// </summary>
    private static readonly TimeSpan ShutdownBound = TimeSpan.FromSeconds(6);

    public static int Run(ParseResult result, CommonOptions common, string mountPoint, string subtype,
        Func<LowLevelFileSystem> createFileSystem, Func<LowLevelFileSystem, string>? describe = null,
        Func<LowLevelFileSystem, FuseSession, ILogger, IDisposable?>? whileMounted = null, Func<MountOptions, MountOptions>? secureOptions = null,
        MountPointKind mountPointKind = MountPointKind.Directory)
    {
        if (Check(result, common, mountPoint, mountPointKind) is { } problem) return Fail(problem);
        // Before the mount exists: from then on a signal must unmount, never kill the process.
        using var signals = new ShutdownSignals();
        MountOptions mountOptions;
        string[] mountOptionLists = CommonOptions.TakeSessionOptions(result.GetValue(common.MountOptions) ?? [], out bool ioUring);
        try
        {
            mountOptions = MountOptions.Parse(mountOptionLists, new MountOptions { Subtype = subtype, FsName = subtype });
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        if (secureOptions is not null) mountOptions = secureOptions(mountOptions);
        if (AutoUnmountChecks.Warning(mountOptions, Path.GetFullPath(mountPoint)) is { } warning) Console.Error.WriteLine($"directfuse: {warning}");
        int threads = result.GetValue(common.Threads);
        bool debug = result.GetValue(common.Debug);

        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .SetMinimumLevel(debug ? LogLevel.Information : LogLevel.Warning));
        var options = new FuseSessionOptions { Mount = mountOptions, Threads = threads, Debug = debug, LoggerFactory = loggerFactory, UseIoUring = ioUring };

        LowLevelFileSystem fs;
        try
        {
            fs = createFileSystem();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Fail(e.Message);
        }

        FuseSession session;
        try
        {
            session = FuseSession.Mount(fs, mountPoint, options);
        }
        catch (MountException e)
        {
            return Fail(e.Message);
        }
        ShutdownWatchdog? watchdog = null;
        try
        {
            using (session)
            using (whileMounted?.Invoke(fs, session, loggerFactory.CreateLogger("directfuse")))
            {
                Console.WriteLine($"directfuse: {subtype} mounted on {session.MountPoint} ({session.Connection.KernelMajor}.{session.Connection.KernelMinor} kernel protocol, {threads} threads{(describe is null ? "" : ", " + describe(fs))})");
                if (ioUring) Console.WriteLine($"directfuse: requests over {(session.Transport == FuseTransport.IoUring ? "io_uring" : "/dev/fuse")}: {session.TransportReason}");
                Console.WriteLine("directfuse: serving until unmounted or interrupted (Ctrl-C)");
                // Waited for on this (main) thread, not awaited: nothing of the shutdown depends on the thread pool,
                // which handlers under load may keep busy.
                WaitHandle.WaitAny([signals.WaitHandle, ((IAsyncResult)session.Completion).AsyncWaitHandle]);
                if (signals.Received)
                {
                    Console.WriteLine($"directfuse: {signals.Name} received, unmounting");
                    watchdog = ShutdownWatchdog.Start(session, ShutdownBound);
                    if (!session.Shutdown(ShutdownGrace, ShutdownAfterAbort))
                        Console.Error.WriteLine("directfuse: a handler did not return after the connection was aborted; exiting anyway (the mount is gone)");
                    Console.WriteLine("directfuse: unmounted");
                }
                else
                {
                    Console.WriteLine($"directfuse: {session.Completion.Result}");
                }
            }
        }
        finally
        {
            watchdog?.Dispose();
        }
        return 0;
    }

    /// <summary>
    /// What every mount checks before it creates anything: the thread count and the kind of mount point.
    /// Returns the message for the user, or null.
    /// </summary>
    public static string? Check(ParseResult result, CommonOptions common, string mountPoint, MountPointKind mountPointKind) =>
        OptionChecks.Threads(result.GetValue(common.Threads)) ?? OptionChecks.MountPoint(mountPoint, mountPointKind);

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"directfuse: {message}");
        return 1;
    }
}
