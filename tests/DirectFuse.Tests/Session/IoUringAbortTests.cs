using System.Diagnostics;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;

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
        var m = TempMount.Create(fs, new FuseSessionOptions { UseIoUring = true, Threads = 2 });
        Assert.True(m.Session.Transport == FuseTransport.IoUring, m.Session.TransportReason);
        // All on CPU 0, so on one ring queue: an entry held by a waiting handler, one whose handler blocks the
        // queue thread, and one delivered behind it that the blocked thread cannot read (over io_uring a handler
        // that blocks its thread stalls the later requests of its CPU).
        var clients = new List<Process> { StatOnCpu0(m["held"]) };
        try
        {
            Assert.True(fs.HeldEntered.Wait(Patience.Seconds(10)), "the held lookup never reached the server");
            clients.Add(StatOnCpu0(m["blocked"]));
            Assert.True(fs.BlockedEntered.Wait(Patience.Seconds(10)), "the blocking lookup never reached the server");
            clients.Add(StatOnCpu0(m["behind"]));
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

            // The late replies: into entries the kernel has let go of. They must be dropped, not crash or hang.
            fs.Release();
            Assert.True(m.Session.Completion.Wait(Patience.Seconds(15)), "the session did not end after its handlers answered");
            Assert.Equal(2, fs.Answered);
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

    private static Process StatOnCpu0(string path)
    {
        var psi = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { "-c", "0", "stat", path }) psi.ArgumentList.Add(arg);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start taskset stat");
    }

    /// <summary>Lookups of "held" wait asynchronously and of "blocked" block their thread, both until released.</summary>
    private sealed class HoldingFileSystem : LowLevelFileSystem
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _answered;

        public ManualResetEventSlim HeldEntered { get; } = new();
        public ManualResetEventSlim BlockedEntered { get; } = new();
        public int Answered => Volatile.Read(ref _answered);

        public void Release() => _release.TrySetResult();

        public override async ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
        {
            if (name.Equals("held"))
            {
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
