using DirectFuse.LowLevel;
using DirectFuse.Session;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Hosting;

/// <summary>
/// One mount as a hosted service: mounts at start (returning once the kernel's INIT is answered), unmounts at stop,
/// and stops the host when the mount ends on its own.
/// </summary>
internal sealed partial class FuseMountService : IHostedService, IDisposable
{
    private readonly FuseMountOptions _options;
    private readonly Func<LowLevelFileSystem> _createFileSystem;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private FuseSession? _session;
    private volatile bool _stopping;

    public FuseMountService(FuseMountOptions options, Func<LowLevelFileSystem> createFileSystem, ILoggerFactory loggerFactory, IHostApplicationLifetime? lifetime)
    {
        _options = options;
        _createFileSystem = createFileSystem;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("DirectFuse.Hosting");
        _lifetime = lifetime;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var sessionOptions = _options.Session;
        if (ReferenceEquals(sessionOptions.LoggerFactory, NullLoggerFactory.Instance))
            sessionOptions = sessionOptions with { LoggerFactory = _loggerFactory };
        var fileSystem = _createFileSystem();
        string mountPoint = _options.MountPoint;
        // Mount blocks until the kernel's INIT is answered (or InitTimeout): off the caller's thread, so that the
        // host's token can end the wait.
        var mounting = Task.Run(() => FuseSession.Mount(fileSystem, mountPoint, sessionOptions), CancellationToken.None);
        try
        {
            _session = await mounting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The mount may still succeed after the host gave up on it: it must not outlive the start.
            _ = mounting.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
        LogMounted(_logger, _session.MountPoint);
        _ = _session.Completion.ContinueWith(OnEnded, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        if (_session is not { } session) return;
        var grace = _options.ShutdownGrace;
        var afterAbort = _options.ShutdownAfterAbort;
        // Shutdown waits for clients and workers on this thread: off the caller's, so that the host's token can end it.
        var stopping = Task.Run(() => session.Shutdown(grace, afterAbort), CancellationToken.None);
        try
        {
            if (!await stopping.WaitAsync(cancellationToken).ConfigureAwait(false))
                LogHandlerStuck(_logger, session.MountPoint);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host will not wait longer: the mount goes now, whatever the clients or handlers still do.
            session.ForceUnmount();
            LogForced(_logger, session.MountPoint);
        }
    }

    private void OnEnded(Task<string> completion)
    {
        if (_stopping) return;
        string reason = completion.IsCompletedSuccessfully ? completion.Result : completion.Exception?.GetBaseException().Message ?? "failed";
        if (_options.StopHostWhenUnmounted && _lifetime is not null)
        {
            LogEndedStopping(_logger, _options.MountPoint, reason);
            _lifetime.StopApplication();
        }
        else LogEnded(_logger, _options.MountPoint, reason);
    }

    public void Dispose()
    {
        _stopping = true;
        _session?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted {MountPoint}")]
    private static partial void LogMounted(ILogger logger, string mountPoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "The mount on {MountPoint} ended while the host runs ({Reason}): stopping the host")]
    private static partial void LogEndedStopping(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The mount on {MountPoint} ended while the host runs ({Reason})")]
    private static partial void LogEnded(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{MountPoint}: a handler did not return after the connection was aborted; the mount is gone")]
    private static partial void LogHandlerStuck(ILogger logger, string mountPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{MountPoint}: the host's stop timeout ended the shutdown; the connection was aborted and the mount detached")]
    private static partial void LogForced(ILogger logger, string mountPoint);
}
