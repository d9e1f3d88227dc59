using System.CommandLine;
using DirectFuse.Cli.Commands;
using DirectFuse.Cli.Daemon;
using DirectFuse.Cli.Output;
using DirectFuse.Cli.Systemd;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Cli;

/// <summary>
/// Mounts a file system, serves it in this process, and unmounts on SIGINT, SIGTERM, SIGHUP or SIGQUIT. Once
/// the mount is live it tells whoever waits: the command that started this daemon (<see cref="DaemonChild"/>) or
/// systemd (<see cref="SdNotify"/>).
/// </summary>
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
        if (ParseOptions(result, common, subtype) is not { } parsed) return 1;
        int threads = parsed.Threads ?? result.GetValue(common.Threads);
        if (Check(threads, mountPoint, mountPointKind) is { } problem) return Fail(problem);
        foreach (var note in parsed.Notes) CliOutput.Warn($"directfuse: {note}");
        // Before the mount exists: from then on a signal must unmount, never kill the process.
        using var signals = new ShutdownSignals();
        var mountOptions = parsed.Mount;
        if (secureOptions is not null) mountOptions = secureOptions(mountOptions);
        bool inherited = FuseMounts.TryParseDeviceFd(mountPoint, out _);
        if (!inherited && AutoUnmountChecks.Warning(mountOptions, Path.GetFullPath(mountPoint)) is { } warning) CliOutput.Warn($"directfuse: {warning}");
        bool debug = result.GetValue(common.Debug) || parsed.Debug;

        using var loggerFactory = new CliLoggerFactory(debug ? LogLevel.Information : LogLevel.Warning);
        var options = new FuseSessionOptions { Mount = mountOptions, Threads = threads, Debug = debug, LoggerFactory = loggerFactory, UseIoUring = parsed.IoUring };

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
                string where = session.ServesInheritedFd ? $"{session.MountPoint} (mounted by the parent)" : session.MountPoint;
                CliOutput.Say($"directfuse: {subtype} mounted on {where} ({session.Connection.KernelMajor}.{session.Connection.KernelMinor} kernel protocol, {threads} threads{(describe is null ? "" : ", " + describe(fs))})");
                if (parsed.IoUring) CliOutput.Say($"directfuse: requests over {(session.Transport == FuseTransport.IoUring ? "io_uring" : "/dev/fuse")}: {session.TransportReason}");
                CliOutput.Say("directfuse: serving until unmounted or interrupted (Ctrl-C)");
                Ready($"Serving {subtype} on {where}");
                // Waited for on this (main) thread, not awaited: nothing of the shutdown depends on the thread pool,
                // which handlers under load may keep busy.
                WaitHandle.WaitAny([signals.WaitHandle, ((IAsyncResult)session.Completion).AsyncWaitHandle]);
                if (signals.Received)
                {
                    SdNotify.Send("STOPPING=1", SdNotify.Status($"{signals.Name} received, unmounting {session.MountPoint}"));
                    CliOutput.Say(session.ServesInheritedFd
                        ? $"directfuse: {signals.Name} received, stopping (the mount is the parent's to remove)"
                        : $"directfuse: {signals.Name} received, unmounting");
                    watchdog = ShutdownWatchdog.Start(session, ShutdownBound);
                    if (!session.Shutdown(ShutdownGrace, ShutdownAfterAbort))
                        CliOutput.Fail("directfuse: a handler did not return after the connection was aborted; exiting anyway (the mount is gone)");
                    CliOutput.Say(session.ServesInheritedFd ? "directfuse: stopped" : "directfuse: unmounted");
                }
                else
                {
                    SdNotify.Send("STOPPING=1", SdNotify.Status($"{session.MountPoint}: {session.Completion.Result}"));
                    CliOutput.Say($"directfuse: {session.Completion.Result}");
                }
            }
        }
        finally
        {
            watchdog?.Dispose();
        }
        return 0;
    }

    /// <summary>The mount is live: the daemon's starter stops waiting, or systemd marks the service started.</summary>
    private static void Ready(string status)
    {
        // A daemon's starter tells systemd itself (with MAINPID): only the main process may, by default.
        if (DaemonChild.IsActive) DaemonChild.SignalReady();
        else SdNotify.Send("READY=1", SdNotify.Status(status));
    }

    private static ParsedMountOptions? ParseOptions(ParseResult result, CommonOptions common, string subtype)
    {
        try
        {
            return GenericMountOptions.Parse(result.GetValue(common.MountOptions) ?? [], new MountOptions { Subtype = subtype, FsName = subtype });
        }
        catch (ArgumentException e)
        {
            Fail(e.Message);
            return null;
        }
    }

    /// <summary>
    /// What every mount checks before it creates anything: the thread count (--threads, or -o max_threads=) and
    /// the kind of mount point. Returns the message for the user, or null.
    /// </summary>
    public static string? Check(ParseResult result, CommonOptions common, string mountPoint, MountPointKind mountPointKind)
    {
        int threads = result.GetValue(common.Threads);
        try
        {
            threads = GenericMountOptions.Parse(result.GetValue(common.MountOptions) ?? [], new MountOptions()).Threads ?? threads;
        }
        catch (ArgumentException)
        {
            // Reported by Run.
        }
        return Check(threads, mountPoint, mountPointKind);
    }

    private static string? Check(int threads, string mountPoint, MountPointKind mountPointKind) =>
        OptionChecks.Threads(threads) ?? OptionChecks.MountPoint(mountPoint, mountPointKind);

    public static int Fail(string message)
    {
        CliOutput.Fail($"directfuse: {message}");
        return 1;
    }
}
