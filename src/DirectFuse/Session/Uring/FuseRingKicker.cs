using System.Collections.Concurrent;
using System.Text;
using DirectFuse.Transport.IoUring;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Session.Uring;

/// <summary>
/// Makes the kernel hand a ring queue the requests it queued while the queue had no free entry. The kernel queues
/// a request when none of the queue's entries waits in the kernel, and takes it from there only when an entry is
/// committed (COMMIT_AND_FETCH); an entry registered later does not take it (<c>fuse_uring_do_register</c>). When
/// every entry that would commit is held by a waiting handler (200 callers in F_SETLKW), such requests would wait
/// until some handler ends. A kick is a GETATTR of the mount's root (<c>statx</c> with AT_STATX_FORCE_SYNC) from a
/// thread on the queue's CPU: it takes a free entry at once, and its commit fetches the oldest queued request.
/// </summary>
/// <remarks>
/// Threads are started at the first kick and sleep in between. A kick that itself got queued (a burst took the
/// free entries first) waits until a later kick's commit fetches it, so a few threads may be needed; there are
/// at most <see cref="MaxThreads"/>. The kick's GETATTR is served by the file system like any other.
/// </remarks>
internal sealed unsafe partial class FuseRingKicker : IDisposable
{
    /// <summary>Kicks under way at once, over all queues.</summary>
    public const int MaxThreads = 4;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<FuseRingQueue> _requests = new();
    private readonly SemaphoreSlim _signal = new(0);
    // The mount point as a NUL-terminated UTF-8 string, for statx without marshalling per kick.
    private readonly byte[] _path;
    private int _threads, _idle;
    private volatile bool _stopped;
    private int _failuresLogged;

    public FuseRingKicker(string mountPoint, ILogger logger)
    {
        _logger = logger;
        _path = new byte[Encoding.UTF8.GetByteCount(mountPoint) + 1];
        Encoding.UTF8.GetBytes(mountPoint, _path);
    }

    /// <summary>Asks for a kick of <paramref name="queue"/> (which counts it as outstanding); called by its thread.</summary>
    public void Request(FuseRingQueue queue)
    {
        if (_stopped)
        {
            queue.KickDone();
            return;
        }
        _requests.Enqueue(queue);
        // A thread for it unless one is asleep; the bound leaves the rest queued here until a thread is free.
        if (Volatile.Read(ref _idle) == 0 && Interlocked.Increment(ref _threads) <= MaxThreads)
            new Thread(Run) { IsBackground = true, Name = "fuse-ring-kicker" }.Start();
        _signal.Release();
    }

    private void Run()
    {
        while (true)
        {
            Interlocked.Increment(ref _idle);
            _signal.Wait();
            Interlocked.Decrement(ref _idle);
            if (_stopped)
            {
                while (_requests.TryDequeue(out var left)) left.KickDone();
                return;
            }
            if (!_requests.TryDequeue(out var queue)) continue;
            int pin = UringHost.PinCurrentThread(queue.Qid);
            // The GETATTR's answer (or ENOTCONN at unmount, EINTR) does not matter: it was sent or cannot be.
            if (pin == 0)
                fixed (byte* path = _path) UringHost.ForceGetAttr(path);
            else if (Interlocked.Increment(ref _failuresLogged) == 1) LogKickFailed(_logger, queue.Qid, new Errno(pin).ToString());
            queue.KickDone();
        }
    }

    /// <summary>Stops the threads after the kicks they are in (if any).</summary>
    public void Dispose()
    {
        _stopped = true;
        _signal.Release(MaxThreads);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "io_uring queue {Qid}: cannot run on its CPU to fetch requests the kernel queued for it ({Errno}); they wait for the next reply on that queue")]
    private static partial void LogKickFailed(ILogger logger, int qid, string errno);
}
