using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using DirectFuse.Protocol;
using DirectFuse.Session;

namespace DirectFuse.Tests.Protocol;

/// <summary>
/// The dispatcher's hot path must not allocate when handlers complete synchronously: requests are parsed in
/// place, replies built in the request's own buffer, and nothing is boxed.
/// </summary>
[Collection(DirectFuse.Tests.Observability.GlobalListeners.Name)]
public sealed class AllocationTests
{
    private const int Warmup = 300;
    private const int Measured = 2000;

    private static Dictionary<FuseOpcode, byte[]> HotRequests()
    {
        byte[] writeData = new byte[64];
        Random.Shared.NextBytes(writeData);
        return new()
        {
            [FuseOpcode.Lookup] = FakeKernel.BuildRequest(FuseOpcode.Lookup, 2, 1, Bytes.Name("hello"), uid: 1000, gid: 1000, pid: 1),
            [FuseOpcode.GetAttr] = FakeKernel.BuildRequest(FuseOpcode.GetAttr, 4, 2, Bytes.Of(new FuseGetAttrIn { GetAttrFlags = FuseGetAttrIn.FlagFh, Fh = 42 })),
            [FuseOpcode.Open] = FakeKernel.BuildRequest(FuseOpcode.Open, 6, 2, Bytes.Of(new FuseOpenIn { Flags = 2 })),
            [FuseOpcode.Read] = FakeKernel.BuildRequest(FuseOpcode.Read, 8, 2, Bytes.Of(new FuseReadIn { Fh = 42, ReadSize = 4096 })),
            [FuseOpcode.Write] = FakeKernel.BuildRequest(FuseOpcode.Write, 10, 2,
                Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 42, WriteSize = (uint)writeData.Length }), writeData)),
            [FuseOpcode.Release] = FakeKernel.BuildRequest(FuseOpcode.Release, 12, 2, Bytes.Of(new FuseReleaseIn { Fh = 42 })),
            [FuseOpcode.Forget] = FakeKernel.BuildRequest(FuseOpcode.Forget, 14, 2, Bytes.Of(new FuseForgetIn { NLookup = 1 })),
        };
    }

    /// <summary>Bytes allocated on this thread by <paramref name="count"/> synchronous dispatches of one request.</summary>
    private static long Measure(FakeKernel k, FuseRequest r, byte[] request, bool hasReply, int count)
    {
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            request.CopyTo(r.InBuffer);
            Assert.True(r.Load(request.Length));
            long before = GC.GetAllocatedBytesForCurrentThread();
            var pending = k.Core.Dispatcher.DispatchAsync(r);
            bool completed = pending.IsCompletedSuccessfully;
            long after = GC.GetAllocatedBytesForCurrentThread();
            total += after - before;
            Assert.True(completed, $"{r.Opcode} did not complete synchronously");
            if (hasReply)
            {
                var reply = k.Read(1000);
                Assert.True(reply.Error == 0, $"{r.Opcode} failed: {reply}");
            }
        }
        return total;
    }

    [Fact]
    public void Synchronous_hot_path_allocates_nothing() => AssertHotPathAllocatesNothing();

    /// <summary>
    /// With a <see cref="MeterListener"/> enabled on every DirectFuse instrument the hot path still allocates
    /// nothing: tags are built once per session, measurements pass them as spans.
    /// </summary>
    [Fact]
    public void Synchronous_hot_path_allocates_nothing_while_metrics_are_collected()
    {
        long requests = 0, measurements = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == FuseTelemetry.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            Interlocked.Increment(ref measurements);
            if (instrument.Name == "directfuse.requests") Interlocked.Add(ref requests, value);
        });
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measurements));
        listener.Start();
        AssertHotPathAllocatesNothing();
        // Every request was counted, and timed, counted active, and (READ, WRITE) its bytes.
        Assert.True(requests >= HotRequests().Count * (Warmup + Measured), $"{requests} requests counted");
        Assert.True(measurements >= 4 * requests, $"{measurements} measurements for {requests} requests");
    }

    private static void AssertHotPathAllocatesNothing()
    {
        var fs = new TestFileSystem { RecordForgets = false };
        using var k = FakeKernel.StartInitialized(fs);
        var r = new FuseRequest(k.Core.Pool.InSize, k.Core.Pool.OutSize) { Sink = k.Channel };
        var requests = HotRequests();

        foreach (var (opcode, bytes) in requests)
            Measure(k, r, bytes, opcode != FuseOpcode.Forget, Warmup);

        var report = new StringBuilder();
        long worst = 0;
        foreach (var (opcode, bytes) in requests)
        {
            bool hasReply = opcode != FuseOpcode.Forget;
            long bytesAllocated = Measure(k, r, bytes, hasReply, Measured);
            if (bytesAllocated != 0)
            {
                // Give tiered compilation a moment and measure again before calling it an allocation.
                Thread.Sleep(200);
                bytesAllocated = Measure(k, r, bytes, hasReply, Measured);
            }
            report.AppendLine($"{opcode}: {bytesAllocated / (double)Measured:0.##} bytes/request");
            worst = Math.Max(worst, bytesAllocated);
        }
        if (typeof(FuseRequest).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true)
            report.AppendLine("DirectFuse.dll is built without optimizations: the C# compiler then emits every async state machine "
                + "(FuseDispatcher.Lookup, GetAttr, Open, Read, Write, Release, ...) as a class, one object per call. "
                + "Build it with <Optimize>true</Optimize> (or run the tests with -c Release).");
        Assert.True(worst == 0, "allocations on the hot path:\n" + report);
        Assert.True(fs.ForgetCalls >= Warmup + Measured);
    }
}
