using System.Buffers.Binary;
using System.Diagnostics;
using DirectFuse.Protocol;

namespace DirectFuse.Fuzz;

/// <summary>How long and from which seed to fuzz.</summary>
public sealed record FuzzOptions
{
    public int Seed { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Stop after this many requests even if time is left (a fixed amount of work for CI).</summary>
    public long MaxRequests { get; init; } = long.MaxValue;
    public int RequestsPerRound { get; init; } = 2000;
    /// <summary>Progress lines and failure reports; null for none.</summary>
    public TextWriter? Log { get; init; }
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Where a failing round's requests are written for <c>--replay</c>; null for nowhere.</summary>
    public string? FailureDirectory { get; init; }
}

/// <summary>A broken oracle: what, where, and the bytes that replay it.</summary>
public sealed record FuzzFailure(int Seed, int Round, string Target, string Reason, byte[]? Request, IReadOnlyList<byte[]> History)
{
    public override string ToString() =>
        $"FAILURE seed={Seed} round={Round} target={Target}: {Reason}\n  request (for a logged error: the last one sent): {(Request is null ? "(none)" : Convert.ToHexString(Request))}\n  round history: {History.Count} requests";
}

public sealed record FuzzResult(long Requests, long Replies, long MalformedWarnings, int Rounds, TimeSpan Elapsed, FuzzFailure? Failure)
{
    public double RequestsPerSecond => Requests / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>
/// Feeds generated and mutated requests through the real dispatcher in rounds: each round a fresh target
/// (memfs, a device over FUSE, the device over CUSE) behind a fake kernel, INIT, then requests with up to
/// <see cref="MaxInFlight"/> in flight. Oracles: every reply valid for its request and answered exactly
/// once within the time bound, no worker or handler failure, no unobserved exception, bounded heap.
/// </summary>
public static class FuzzRunner
{
    private const int MaxInFlight = 8;
    /// <summary>Requests that block (SETLKW, a device READ) stay pending without holding the window up, up to this many.</summary>
    private const int MaxPending = 64;
    private static readonly TimeSpan Young = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan InterruptAfter = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReplyBound = TimeSpan.FromSeconds(15);
    private const long HeapBound = 256L << 20;

    public static FuzzResult Run(FuzzOptions options)
    {
        string? unobserved = null;
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) => unobserved ??= e.Exception.ToString();
        TaskScheduler.UnobservedTaskException += onUnobserved;
        try
        {
            var clock = Stopwatch.StartNew();
            var stats = new Stats();
            var nextProgress = options.ProgressInterval;
            int round = 0;
            FuzzFailure? failure = null;
            options.Log?.WriteLine($"fuzz: seed {options.Seed}, {options.Duration.TotalSeconds:0} s, targets {string.Join(", ", FuzzTargets.Names)}");
            while (failure is null && clock.Elapsed < options.Duration && stats.Requests < options.MaxRequests)
            {
                string target = FuzzTargets.Names[round % FuzzTargets.Names.Length];
                var rng = new Random(RoundSeed(options.Seed, round));
                long budget = Math.Min(options.RequestsPerRound, options.MaxRequests - stats.Requests);
                var source = new GeneratedRequests(new RequestGenerator(rng, target == "cuse"), budget, options.Duration - clock.Elapsed);
                failure = RunRound(target, source, stats, options.Seed, round, () => unobserved);
                round++;
                // Every round's target is garbage after it: what survives a full collection is a leak in the engine.
                if (failure is null && round % 10 == 0 && GC.GetTotalMemory(forceFullCollection: true) > HeapBound)
                    failure = new FuzzFailure(options.Seed, round - 1, target, $"heap grew past {HeapBound >> 20} MiB: {GC.GetTotalMemory(true) >> 20} MiB", null, []);
                if (clock.Elapsed >= nextProgress)
                {
                    nextProgress += options.ProgressInterval;
                    options.Log?.WriteLine($"fuzz: {clock.Elapsed.TotalSeconds:0} s, {stats.Requests} requests ({stats.Requests / clock.Elapsed.TotalSeconds:0}/s), {stats.Replies} replies, {stats.Warnings} malformed, {round} rounds, heap {GC.GetTotalMemory(false) >> 20} MiB");
                }
            }
            var result = new FuzzResult(stats.Requests, stats.Replies, stats.Warnings, round, clock.Elapsed, failure);
            Report(result, options);
            return result;
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }
    }

    /// <summary>Sends a recorded round (a failure file) again, one request at a time, under the same oracles.</summary>
    public static FuzzResult Replay(string target, IReadOnlyList<byte[]> requests, TextWriter? log)
    {
        var clock = Stopwatch.StartNew();
        var stats = new Stats();
        var failure = RunRound(target, new RecordedRequests(requests), stats, 0, 0, () => null, window: 1);
        var result = new FuzzResult(stats.Requests, stats.Replies, stats.Warnings, 1, clock.Elapsed, failure);
        Report(result, new FuzzOptions { Log = log });
        return result;
    }

    /// <summary>Reads a failure file: "target NAME", then one request per line in hex.</summary>
    public static (string Target, List<byte[]> Requests) ReadFailureFile(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (lines.Count == 0 || !lines[0].StartsWith("target ", StringComparison.Ordinal)) throw new FormatException($"{path}: first line must be 'target NAME'");
        return (lines[0]["target ".Length..].Trim(), lines.Skip(1).Select(Convert.FromHexString).ToList());
    }

    /// <summary>Each round's generator seed, the same in every process (HashCode is randomised per process).</summary>
    private static int RoundSeed(int seed, int round) => unchecked(seed * 1_000_003 + round * 7_919);

    private static void Report(FuzzResult result, FuzzOptions options)
    {
        var log = options.Log;
        if (log is null) return;
        log.WriteLine($"fuzz: done: {result.Requests} requests in {result.Elapsed.TotalSeconds:0.0} s ({result.RequestsPerSecond:0}/s), {result.Replies} replies, {result.MalformedWarnings} malformed, {result.Rounds} rounds");
        if (result.Failure is not { } f) return;
        log.WriteLine(f);
        if (options.FailureDirectory is null || f.History.Count == 0) return;
        Directory.CreateDirectory(options.FailureDirectory);
        string path = Path.Combine(options.FailureDirectory, $"fuzz-failure-seed{f.Seed}-round{f.Round}.txt");
        File.WriteAllLines(path, [$"# {f.Reason.ReplaceLineEndings(" ")}", $"target {f.Target}", .. f.History.Select(Convert.ToHexString)]);
        log.WriteLine($"  replay: scripts/fuzz.sh --replay {path}");
    }

    private sealed class Stats
    {
        public long Requests, Replies, Warnings;
    }

    private sealed class Pending(byte[] request, long sentAt, ReplyRule rule)
    {
        public byte[] Request { get; } = request;
        public long SentAt { get; } = sentAt;
        public ReplyRule Rule { get; } = rule;
        public bool Interrupted { get; set; }
    }

    private static FuzzFailure? RunRound(string target, IRequestSource source, Stats stats, int seed, int round, Func<string?> unobserved, int window = MaxInFlight)
    {
        FuzzFailure? stuck = null;
        var failure = RunRoundCore(target, source, stats, seed, round, unobserved, ref stuck, window);
        return failure ?? stuck;
    }

    private static FuzzFailure? RunRoundCore(string target, IRequestSource source, Stats stats, int seed, int round, Func<string?> unobserved, ref FuzzFailure? stuck, int window)
    {
        var (fs, cuse, owned) = FuzzTargets.Create(target);
        var logger = new FindingLogger();
        var history = new List<byte[]>();
        var pending = new Dictionary<ulong, Pending>();
        ulong nextUnique = 0;
        bool destroyed = false;
        FuzzFailure Fail(string reason, byte[]? request) => new(seed, round, target, reason, request, history);
        uint maxPayload = FuzzKernel.MaxWrite + 4096;

        var kernel = new FuzzKernel(fs, cuse, workers: 2, logger);
        try
        {
            var init = FuzzTargets.InitRequest(cuse is not null);
            Stamp(init, nextUnique += 2);
            history.Add(init);
            kernel.Send(init);
            var initReply = kernel.TryRead(5000, out bool gotInit);
            if (!gotInit || initReply.Length < 16 || BinaryPrimitives.ReadInt32LittleEndian(initReply[4..]) != 0)
                return Fail("set-up request not answered with success", init);
            if (!kernel.Core.InitCompleted.Wait(5000)) return Fail("INIT answered but never completed", init);

            while (true)
            {
                // Fill the window.
                while (!destroyed && Waiting(pending) < MaxPending && InFlight(pending) < window && source.TryNext(out var request))
                {
                    ulong unique = nextUnique += 2;
                    if (request.Length >= 16) Stamp(request, unique);
                    if (!kernel.Send(request)) continue; // larger than the socket takes: the kernel could not send it either
                    history.Add(request);
                    stats.Requests++;
                    source.Sent(unique);
                    var rule = ReplyOracle.Expect(request);
                    if (rule != ReplyRule.None) pending[unique] = new Pending(request, Stopwatch.GetTimestamp(), rule);
                    // The kernel sends nothing after DESTROY: the round ends once it is answered.
                    if (request.Length >= 8 && ReplyOracle.Opcode(request) == FuseOpcode.Destroy) destroyed = true;
                }
                bool more = !destroyed && !source.Exhausted;
                if (!more && !pending.Values.Any(p => p.Rule == ReplyRule.Exactly)) break;

                // Drain replies.
                int wait = InFlight(pending) >= window || Waiting(pending) >= MaxPending || !more ? 5 : 0;
                while (true)
                {
                    var reply = kernel.TryRead(wait, out bool got);
                    if (!got) break;
                    wait = 0;
                    stats.Replies++;
                    if (reply.Length < 16) return Fail($"message of {reply.Length} bytes", null);
                    ulong unique = BinaryPrimitives.ReadUInt64LittleEndian(reply[8..]);
                    if (unique == 0)
                    {
                        int code = BinaryPrimitives.ReadInt32LittleEndian(reply[4..]);
                        if (code is < 1 or > 8) return Fail($"notification with code {code}", null);
                        continue;
                    }
                    if (!pending.Remove(unique, out var p))
                        return Fail($"reply to unique {unique}, which is not waiting for one (answered twice, or a request that takes none)", history.FirstOrDefault(h => h.Length >= 16 && BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(8)) == unique));
                    if (ReplyOracle.Check(p.Request, reply, maxPayload) is { } why) return Fail(why + $" (reply {Convert.ToHexString(reply[..Math.Min(reply.Length, 64)])})", p.Request);
                    if (BinaryPrimitives.ReadInt32LittleEndian(reply[4..]) == 0) source.Learn(ReplyOracle.Opcode(p.Request), reply[16..]);
                }

                // Time bounds: interrupt a slow request as the kernel would; one that still never answers is a finding.
                long now = Stopwatch.GetTimestamp();
                foreach (var (unique, p) in pending.ToList())
                {
                    var age = Stopwatch.GetElapsedTime(p.SentAt, now);
                    // An INTERRUPT may be answered (EAGAIN) at any time before the round ends, or never.
                    if (p.Rule == ReplyRule.Maybe) continue;
                    if (age > ReplyBound) return Fail($"no reply within {ReplyBound.TotalSeconds:0} s (interrupted: {p.Interrupted})", p.Request);
                    if (age > InterruptAfter && !p.Interrupted)
                    {
                        p.Interrupted = true;
                        var interrupt = new WireWriter().U32(48).U32((uint)FuseOpcode.Interrupt).U64(0).U64(0).U32(0).U32(0).U32(0).U32(0).U64(unique).ToArray();
                        ulong iu = (nextUnique += 2) | 1;
                        Stamp(interrupt, iu);
                        kernel.Send(interrupt);
                        history.Add(interrupt);
                        pending[iu] = new Pending(interrupt, now, ReplyRule.Maybe);
                    }
                }
                // The log does not say which request failed: the last one sent is reported, the round's file replays them all.
                if (logger.FirstError is { } error) return Fail(error, history[^1]);
                if (kernel.StopReasons.Count > 0) return Fail("a worker stopped: " + kernel.StopReasons[0], history[^1]);
                if (unobserved() is { } ex) return Fail("unobserved task exception: " + ex, history[^1]);
            }
            if (logger.FirstError is { } last) return Fail(last, history[^1]);
            return null;
        }
        finally
        {
            stats.Warnings += logger.Warnings;
            // Closing the kernel end must stop every worker: one that hangs in a handler is a finding too.
            if (!kernel.Stop(TimeSpan.FromSeconds(10))) stuck = Fail("a worker did not stop after the kernel end was closed", history.Count > 0 ? history[^1] : null);
            owned?.Dispose();
        }
    }

    private static int InFlight(Dictionary<ulong, Pending> pending)
    {
        long now = Stopwatch.GetTimestamp();
        int n = 0;
        foreach (var p in pending.Values) if (p.Rule == ReplyRule.Exactly && Stopwatch.GetElapsedTime(p.SentAt, now) < Young) n++;
        return n;
    }

    private static int Waiting(Dictionary<ulong, Pending> pending) => pending.Values.Count(p => p.Rule == ReplyRule.Exactly);

    private static void Stamp(byte[] request, ulong unique) => BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(8), unique);

    private interface IRequestSource
    {
        bool Exhausted { get; }
        bool TryNext(out byte[] request);
        void Sent(ulong unique);
        void Learn(FuseOpcode opcode, ReadOnlySpan<byte> payload);
    }

    private sealed class GeneratedRequests(RequestGenerator generator, long budget, TimeSpan timeLeft) : IRequestSource
    {
        private readonly long _deadline = Stopwatch.GetTimestamp() + (long)(Math.Max(0, timeLeft.TotalSeconds) * Stopwatch.Frequency);
        private long _left = budget;

        public bool Exhausted => _left <= 0 || Stopwatch.GetTimestamp() >= _deadline;

        public bool TryNext(out byte[] request)
        {
            request = [];
            if (Exhausted) return false;
            _left--;
            request = generator.Next();
            return true;
        }

        public void Sent(ulong unique) => generator.Sent(unique);
        public void Learn(FuseOpcode opcode, ReadOnlySpan<byte> payload) => generator.Learn(opcode, payload);
    }

    /// <summary>A recorded round, one request in flight at a time so the order is the recorded one.</summary>
    private sealed class RecordedRequests(IReadOnlyList<byte[]> requests) : IRequestSource
    {
        // The first recorded request is the set-up one, which the round sends itself.
        private int _next = 1;

        public bool Exhausted => _next >= requests.Count;

        public bool TryNext(out byte[] request)
        {
            request = [];
            if (Exhausted) return false;
            request = (byte[])requests[_next++].Clone();
            return true;
        }

        public void Sent(ulong unique) { }
        public void Learn(FuseOpcode opcode, ReadOnlySpan<byte> payload) { }
    }
}
