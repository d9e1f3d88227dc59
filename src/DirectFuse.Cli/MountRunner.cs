using System.CommandLine;
using System.Runtime.InteropServices;
using DirectFuse.Cli.Commands;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Cli;

/// <summary>Mounts a file system, serves it in the foreground, and unmounts on SIGINT/SIGTERM.</summary>
internal static class MountRunner
{
    public static async Task<int> RunAsync(ParseResult result, CommonOptions common, string mountPoint, string subtype,
        Func<LowLevelFileSystem> createFileSystem, CancellationToken cancellationToken, Func<LowLevelFileSystem, string>? describe = null,
        Func<LowLevelFileSystem, FuseSession, ILogger, IDisposable?>? whileMounted = null, Func<MountOptions, MountOptions>? secureOptions = null,
        MountPointKind mountPointKind = MountPointKind.Directory)
    {
        if (Check(result, common, mountPoint, mountPointKind) is { } problem) return Fail(problem);
        MountOptions mountOptions;
        try
        {
            mountOptions = MountOptions.Parse(result.GetValue(common.MountOptions) ?? [], new MountOptions { Subtype = subtype, FsName = subtype });
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        if (secureOptions is not null) mountOptions = secureOptions(mountOptions);
        int threads = result.GetValue(common.Threads);
        bool debug = result.GetValue(common.Debug);

        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .SetMinimumLevel(debug ? LogLevel.Information : LogLevel.Warning));
        var options = new FuseSessionOptions { Mount = mountOptions, Threads = threads, Debug = debug, LoggerFactory = loggerFactory };

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
        using (session)
        using (whileMounted?.Invoke(fs, session, loggerFactory.CreateLogger("directfuse")))
        {
            Console.WriteLine($"directfuse: {subtype} mounted on {session.MountPoint} ({session.Connection.KernelMajor}.{session.Connection.KernelMinor} kernel protocol, {threads} threads{(describe is null ? "" : ", " + describe(fs))})");
            Console.WriteLine("directfuse: serving until unmounted or interrupted (Ctrl-C)");
            try
            {
                // SIGINT and SIGTERM arrive as the command line's cancellation; SIGHUP and SIGQUIT unmount the same
                // way (libfuse ends on HUP too) instead of killing the server and leaving a dead mount behind.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
                using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Stop);
                string reason = await session.WaitAsync(stop.Token);

                void Stop(PosixSignalContext signal)
                {
                    signal.Cancel = true;
                    stop.Cancel();
                }
                Console.WriteLine($"directfuse: {reason}");
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("directfuse: interrupted, unmounting");
            }
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
