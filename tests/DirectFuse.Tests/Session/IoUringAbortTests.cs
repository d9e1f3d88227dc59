using System.Collections.Concurrent;
using System.Diagnostics;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Tests.Session;

/// <summary>
/// What the bounded shutdown does to requests that ring entries hold in userspace (docs/kernel-facts.md,
/// "## io_uring"): the abort ends them with ECONNABORTED, whether a handler waits on them asynchronously, blocks
/// the queue thread in them, or they were delivered to a queue whose thread never read them; and a handler's
/// reply that comes after the abort is dropped without harm.
/// </summary>
public sealed class IoUringAbortTests
{
    [Fact]
    public void The_bounded_shutdown_ends_held_requests_with_ECONNABORTED_and_drops_late_replies()
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        var fs = new HoldingFileSystem();
        var log = new CapturingLoggerFactory();
        var m = TempMount.Create(fs, new FuseSessionOptions { UseIoUring = true, Threads = 2, LoggerFactory = log });
        Assert.True(m.Session.Transport == FuseTransport.IoUring, m.Session.TransportReason);
        // All on CPU 0, so on one ring queue: an entry held by a waiting handler, one whose handler blocks the
        // queue thread, and one delivered behind it that the blocked thread cannot read (over io_uring a handler
        // that blocks its thread stalls the later requests of its CPU).
        var clients = new List<Process> { StatOnCpu(0, m["held"]) };
        // And one held on another CPU's queue, whose thread is not blocked: it gives up waiting for the handler
        // after its stop grace, so that handler's reply comes after the queue thread is gone.
        bool second = Environment.ProcessorCount > 1;
        try
        {
            Assert.True(fs.HeldEntered.Wait(Patience.Seconds(10)), "the held lookup never reached the server");
            if (second)
            {
                clients.Add(StatOnCpu(1, m["held-late"]));
                Assert.True(SpinWait.SpinUntil(() => fs.Waiting == 2, Patience.Seconds(10)), "the lookup held on CPU 1 never reached the server");
            }
            clients.Add(StatOnCpu(0, m["blocked"]));
            Assert.True(fs.BlockedEntered.Wait(Patience.Seconds(10)), "the blocking lookup never reached the server");
            clients.Add(StatOnCpu(0, m["behind"]));
            Thread.Sleep(200);

            var watch = Stopwatch.StartNew();
            Assert.False(m.Session.Shutdown(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(500)), "a queue thread blocked in a handler cannot have stopped");
            foreach (var client in clients)
            {
                Assert.True(client.WaitForExit(Patience.Milliseconds(5000)), "a client still waits after the abort");
                string error = client.StandardError.ReadToEnd();
                Assert.True(client.ExitCode != 0 && error.Contains("Software caused connection abort"), $"exit {client.ExitCode}: {error}");
            }
            Assert.True(watch.Elapsed < Patience.Seconds(5), $"the clients ended {watch.Elapsed.TotalSeconds:0.0} s after the shutdown began");

            // The late replies: into entries the kernel has let go of, one after its queue thread has ended (its
            // stop grace is 5 s). They must be dropped, not crash or hang.
            if (second) Thread.Sleep(6000);
            fs.Release();
            Assert.True(m.Session.Completion.Wait(Patience.Seconds(15)), "the session did not end after its handlers answered");
            Assert.Equal(second ? 3 : 2, fs.Answered);
            // The queue thread of CPU 1 had ended, leaving the held entry's memory to its handler; nothing failed.
            if (second) Assert.Contains(log.Lines, line => line.Contains("still held at teardown"));
            Assert.DoesNotContain(log.Lines, line => line.StartsWith("Critical") || line.StartsWith("Error"));
        }
        finally
        {
            if (clients.Any(c => !c.HasExited)) m.Session.ForceUnmount();
            fs.Release();
            foreach (var client in clients)
            {
                if (!client.HasExited) client.Kill();
                client.WaitForExit(Patience.Milliseconds(10_000));
                client.Dispose();
            }
            m.Dispose();
        }
    }

    private static Process StatOnCpu(int cpu, string path)
    {
        var psi = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { "-c", cpu.ToString(), "stat", path }) psi.ArgumentList.Add(arg);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start taskset stat");
    }

    /// <summary>Keeps every line logged at Warning and above, as "Level: message".</summary>
    private sealed class CapturingLoggerFactory : ILoggerFactory, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
        }
    }

    /// <summary>Lookups of "held…" wait asynchronously and of "blocked" block their thread, all until released.</summary>
    private sealed class HoldingFileSystem : LowLevelFileSystem
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _answered, _waiting;

        public ManualResetEventSlim HeldEntered { get; } = new();
        public ManualResetEventSlim BlockedEntered { get; } = new();
        public int Answered => Volatile.Read(ref _answered);
        public int Waiting => Volatile.Read(ref _waiting);

        public void Release() => _release.TrySetResult();

        public override async ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
        {
            if (name.Equals("held") || name.Equals("held-late"))
            {
                Interlocked.Increment(ref _waiting);
                HeldEntered.Set();
                await _release.Task.ConfigureAwait(false); // deaf to the interrupt, as a stuck back end is
                Interlocked.Increment(ref _answered);
                return Errno.ENOENT;
            }
            if (name.Equals("blocked"))
            {
                BlockedEntered.Set();
                _release.Task.Wait(CancellationToken.None);
                Interlocked.Increment(ref _answered);
                return Errno.ENOENT;
            }
            return Errno.ENOENT;
        }
    }
}
