using System.Diagnostics;
using DirectFuse.Tests.Infrastructure;
using Xunit.Abstractions;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// SIGTERM (and in turn SIGINT, SIGHUP, SIGQUIT) at a random moment while clients write and fsync through the
/// mount: the server must unmount and exit 0 within the bound every time, leave no mount and no process, and
/// (loopback, whose data outlives the server) every write a client saw acknowledged must be in the source.
/// </summary>
public sealed class SignalUnderLoadTests(ITestOutputHelper output)
{
    /// <summary>SIGTERM, SIGINT, SIGHUP, SIGQUIT: each round sends one, SIGTERM most (what service managers send).</summary>
    private static readonly (int Number, string Name)[] Signals = [(15, "SIGTERM"), (2, "SIGINT"), (15, "SIGTERM"), (1, "SIGHUP"), (15, "SIGTERM"), (3, "SIGQUIT")];
    private const int Writers = 3;
    private const int RecordSize = 4096;
    /// <summary>From the signal to the server's exit: what an admin (or a service manager) may wait for.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Rounds per run: 20 in the normal suite (about a minute); DIRECTFUSE_SIGNAL_ROUNDS=200 for a long run.
    /// </summary>
    private static int Rounds => int.TryParse(Environment.GetEnvironmentVariable("DIRECTFUSE_SIGNAL_ROUNDS"), out int n) && n > 0 ? n : 20;

    /// <summary>
    /// One writer: appends 4 KiB records to TAG.log and writes each record to a new file TAG-K, fsyncs both, then
    /// prints K: K is acknowledged. Works through a directory fd taken on the mount, so that after a lazy unmount
    /// it still reaches the server (or fails), never the directory underneath. Stops at the first error.
    /// </summary>
    private const string WriterScript = """
        import os, sys
        mnt, tag = sys.argv[1], sys.argv[2]
        try:
            d = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
            os.stat("marker", dir_fd=d)  # the mount, not the directory underneath
            log = os.open(tag + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644, dir_fd=d)
            k = 0
            while True:
                rec = (("%s:%08d:" % (tag, k)).encode() * 512)[:4096]
                if os.write(log, rec) != len(rec):
                    break
                f = os.open("%s-%d" % (tag, k), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=d)
                n = os.write(f, rec)
                os.fsync(f)
                os.close(f)
                if n != len(rec):
                    break
                os.fsync(log)
                print(k, flush=True)
                k += 1
        except OSError:
            pass
        """;

    [Fact]
    public void Signal_under_writes_unmounts_and_exits_0_within_the_bound()
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var started = Stopwatch.StartNew();
        var slowest = TimeSpan.Zero;
        int acknowledged = 0;
        for (int round = 0; round < Rounds; round++)
        {
            // Alternate: memfs (the server's own data) and loopback (acknowledged writes checkable afterwards).
            bool loopback = round % 2 == 1;
            var signal = Signals[round / 2 % Signals.Length];
            string context = $"round {round} ({(loopback ? "loopback" : "memfs")}, {signal.Name}, seed {seed})";
            var (took, acked) = OneRound(loopback, signal.Number, random.Next(0, 400), context);
            if (took > slowest) slowest = took;
            acknowledged += acked;
        }
        output.WriteLine($"{Rounds} rounds in {started.Elapsed.TotalSeconds:0.0} s; slowest exit after the signal {slowest.TotalMilliseconds:0} ms; {acknowledged} acknowledged records checked");
    }

    private static (TimeSpan Took, int Acknowledged) OneRound(bool loopback, int signal, int delayMs, string context)
    {
        string mnt = Directory.CreateTempSubdirectory("df-sig-").FullName;
        string? source = loopback ? Directory.CreateTempSubdirectory("df-sig-src-").FullName : null;
        var writers = new List<(Process Process, Task<string> Out)>();
        try
        {
            using var server = source is null
                ? CliProcess.Start(mnt, "mount", "memfs", mnt)
                : CliProcess.Start(mnt, "mount", "loopback", source, mnt);
            server.WaitForMounted();
            // Writers check for it through their directory fd: one that starts after the unmount stops at once
            // instead of writing into the directory underneath for ever.
            File.WriteAllText(Path.Combine(mnt, "marker"), "");
            for (int i = 0; i < Writers; i++) writers.Add(StartWriter(mnt, $"w{i}"));
            Thread.Sleep(delayMs);

            var signalled = Stopwatch.StartNew();
            server.Signal(signal);
            server.AssertExits(Bound, $"the signal in {context}");
            var took = signalled.Elapsed;
            Assert.True(server.ExitCode == 0, $"{context}: exit {server.ExitCode}\n{server.StdOut}{server.StdErr}");
            Assert.True(took <= Patience.Of(Bound), $"{context}: exited after {took.TotalSeconds:0.0} s");
            Assert.False(Mounts.IsFuseMounted(mnt), $"{context}: the mount outlived the server");

            var acked = new List<int[]>();
            foreach (var (process, stdout) in writers)
            {
                // After the abort every request fails: a writer that still runs is stuck on the dead mount.
                Assert.True(process.WaitForExit(Patience.Milliseconds(10_000)), $"{context}: a writer did not stop after the server exited");
                acked.Add(stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray());
            }
            Assert.Empty(ProcessesMentioning(mnt));
            if (source is null) return (took, 0);
            for (int i = 0; i < Writers; i++) AssertAcknowledgedInSource(source, $"w{i}", acked[i], context);
            return (took, acked.Sum(a => a.Length));
        }
        finally
        {
            foreach (var (process, _) in writers)
            {
                if (!process.HasExited) process.Kill();
                process.WaitForExit();
                process.Dispose();
            }
            if (source is not null) Directory.Delete(source, recursive: true);
        }
    }

    private static (Process, Task<string>) StartWriter(string mnt, string tag)
    {
        var psi = new ProcessStartInfo(Run.Python) { UseShellExecute = false, RedirectStandardOutput = true, WorkingDirectory = "/" };
        foreach (var a in new[] { "-c", WriterScript, mnt, tag }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
        return (process, process.StandardOutput.ReadToEndAsync());
    }

    /// <summary>Records 0..K acknowledged: each at its offset in TAG.log and in its own file TAG-K.</summary>
    private static void AssertAcknowledgedInSource(string source, string tag, int[] acked, string context)
    {
        Assert.Equal(Enumerable.Range(0, acked.Length), acked);
        byte[] log = File.Exists(Path.Combine(source, tag + ".log")) ? File.ReadAllBytes(Path.Combine(source, tag + ".log")) : [];
        Assert.True(log.Length >= acked.Length * RecordSize, $"{context}: {tag}.log has {log.Length} bytes, {acked.Length} records were acknowledged");
        foreach (int k in acked)
        {
            byte[] expected = Record(tag, k);
            Assert.True(log.AsSpan(k * RecordSize, RecordSize).SequenceEqual(expected), $"{context}: record {k} of {tag}.log differs");
            string file = Path.Combine(source, $"{tag}-{k}");
            Assert.True(File.Exists(file) && File.ReadAllBytes(file).AsSpan().SequenceEqual(expected), $"{context}: acknowledged file {tag}-{k} missing or different");
        }
    }

    private static byte[] Record(string tag, int k)
    {
        byte[] unit = System.Text.Encoding.ASCII.GetBytes($"{tag}:{k:D8}:");
        var record = new byte[RecordSize];
        for (int i = 0; i < RecordSize; i++) record[i] = unit[i % unit.Length];
        return record;
    }

    /// <summary>Processes whose command line names <paramref name="path"/>: none may outlive the round.</summary>
    private static List<string> ProcessesMentioning(string path)
    {
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(path)) found.Add($"{Path.GetFileName(dir)}: {cmdline}");
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
        }
        return found;
    }
}
