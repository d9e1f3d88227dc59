using Microsoft.Extensions.Logging;

namespace DirectFuse.Session;

/// <summary>
/// The worker threads of one session (FUSE or CUSE): each serves a channel until the connection ends; when
/// the last one stops, pending retrieves fail, the file system's Destroy runs, and <see cref="Completion"/>
/// completes with the last worker's reason.
/// </summary>
internal sealed partial class WorkerThreads(FuseSessionCore core, ILogger logger, string namePrefix)
{
    private readonly List<Thread> _threads = [];
    private readonly TaskCompletionSource<string> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    public Task<string> Completion => _completion.Task;
    public int Count { get { lock (_threads) return _threads.Count; } }
    public int Running => Volatile.Read(ref _running);

    /// <summary>Starts a thread that runs <paramref name="serve"/> (a worker loop returning why it stopped).</summary>
    public void Start(Func<string> serve, string? name = null)
    {
        lock (_threads)
        {
            var thread = new Thread(() => Work(serve)) { IsBackground = true, Name = name ?? $"{namePrefix}-{_threads.Count}" };
            _threads.Add(thread);
            Interlocked.Increment(ref _running);
            thread.Start();
        }
    }

    private void Work(Func<string> serve)
    {
        string reason;
        try
        {
            reason = serve();
        }
        catch (Exception e)
        {
            reason = "worker failed: " + e.Message;
            LogWorkerFailed(logger, e);
        }
        if (Interlocked.Decrement(ref _running) == 0)
        {
            core.Notifier.FailPending();
            if (!core.DrainHandlers(TimeSpan.FromSeconds(5))) LogHandlersLeft(logger);
            core.RunDestroy();
            _completion.TrySetResult(reason);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for every worker to stop.</summary>
    public bool Join(TimeSpan timeout) => Completion.Wait(timeout) || Running == 0;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handlers still running 5 s after the connection ended; destroying the file system anyway")]
    private static partial void LogHandlersLeft(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "A worker thread failed")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception);
}
