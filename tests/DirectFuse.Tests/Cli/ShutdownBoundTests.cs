using System.Diagnostics;
using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// The shutdown the CLI runs on a signal (<see cref="DirectFuse.Session.FuseSession.Shutdown"/>) is bounded even
/// when handlers never return: one that blocks its worker thread and one whose task never completes.
/// </summary>
public sealed class ShutdownBoundTests
{
    [Fact]
    public void Shutdown_unmounts_and_returns_in_bounded_time_with_handlers_that_never_return()
    {
        var fs = new HangingFileSystem();
        using var mount = TempMount.Create(fs, new DirectFuse.Session.FuseSessionOptions { Threads = 2 });
        // The never-ending lookup first: over io_uring a handler that blocks its thread stalls every later request
        // of that CPU's queue (the thread serves them in turn), so the other lookup would not reach the server if
        // the two clients ran on one CPU in the other order.
        var clients = new List<Process> { StartStat(mount["hang-async"]) };
        try
        {
            Assert.True(fs.AsyncEntered.Wait(Patience.Seconds(10)), "the never-ending lookup never reached the server");
            clients.Add(StartStat(mount["hang-sync"]));
            Assert.True(fs.SyncEntered.Wait(Patience.Seconds(10)), "the blocking lookup never reached the server");

            var watch = Stopwatch.StartNew();
            bool stopped = mount.Session.Shutdown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"Shutdown took {watch.Elapsed.TotalSeconds:0.0} s");
            Assert.False(stopped, "a worker blocked in a handler cannot have stopped");
            Assert.False(Mounts.IsFuseMounted(mount.Path), "the mount outlived the shutdown");
            foreach (var client in clients)
            {
                // The abort answers their lookups with ENOTCONN: no client hangs on a dead server.
                Assert.True(client.WaitForExit(Patience.Milliseconds(10_000)), "a client still waits on the aborted connection");
                Assert.NotEqual(0, client.ExitCode);
            }
        }
        finally
        {
            // A client whose request the server holds is in uninterruptible sleep: only ending the connection
            // frees it (after a failed assertion above, the shutdown may not have run).
            if (clients.Any(c => !c.HasExited)) mount.Session.ForceUnmount();
            fs.Release.Set(); // lets the blocked worker thread end with the test
            foreach (var client in clients)
            {
                if (!client.HasExited) client.Kill();
                client.WaitForExit(Patience.Milliseconds(10_000));
                client.Dispose();
            }
        }
    }

    private static Process StartStat(string path)
    {
        var psi = new ProcessStartInfo("stat", path) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start stat");
    }

    /// <summary>Lookups of hang-sync block the worker thread until released; of hang-async, never complete.</summary>
    private sealed class HangingFileSystem : LowLevelFileSystem
    {
        public ManualResetEventSlim SyncEntered { get; } = new();
        public ManualResetEventSlim AsyncEntered { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
        {
            if (name.Equals("hang-sync"))
            {
                SyncEntered.Set();
                Release.Wait(); // deliberately deaf to cancellation
                return new(Errno.ENOENT);
            }
            if (name.Equals("hang-async"))
            {
                AsyncEntered.Set();
                return new(new TaskCompletionSource<Result<EntryReply>>().Task); // deliberately never completes
            }
            return new(Errno.ENOENT);
        }
    }
}
