using System.Diagnostics;
using DirectFuse.Examples.MemFs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Observability;

/// <summary>A real mount with listeners attached: what coreutils do shows in the DirectFuse meter and spans.</summary>
[Collection(GlobalListeners.Name)]
public sealed class MetricsTests
{
    [Fact]
    public void Requests_errors_bytes_and_durations_of_coreutils_on_memfs()
    {
        using var m = TempMount.Create(new MemFileSystem());
        using var metrics = new MountMetrics(m.Session.MountPoint);
        Run.Shell("printf 'hello, metrics\\n' > f && stat f > /dev/null && cat f > /dev/null", m.Path).EnsureSuccess("write, stat, read");
        Assert.NotEqual(0, Run.Shell("stat missing", m.Path).ExitCode);

        // A request is recorded just after its reply is written: the program may have seen the reply first.
        SpinWait.SpinUntil(() => metrics.Sum("directfuse.request.errors", "ENOENT") >= 1 && metrics.Sum("directfuse.active_requests") == 0, TimeSpan.FromSeconds(10));
        string dump = metrics.Dump();
        foreach (var opcode in new[] { "LOOKUP", "GETATTR", "READ", "WRITE" })
            Assert.True(metrics.Sum("directfuse.requests", opcode) >= 1, $"no {opcode} counted:\n{dump}");
        Assert.True(metrics.Sum("directfuse.request.errors", "ENOENT") >= 1, "no ENOENT counted:\n" + dump);
        Assert.Equal(15, metrics.Sum("directfuse.io", "write"));
        Assert.Equal(15, metrics.Sum("directfuse.io", "read"));
        // One duration per request counted, each between 0 and the time the test took.
        Assert.Equal(metrics.Sum("directfuse.requests", "READ"), metrics.Count("directfuse.request.duration", "READ"));
        Assert.InRange(metrics.Sum("directfuse.request.duration", "LOOKUP"), double.Epsilon, 60);
        // Every request that began also ended.
        Assert.True(metrics.Count("directfuse.active_requests") >= 2, dump);
        Assert.Equal(0, metrics.Sum("directfuse.active_requests"));
    }

    [Fact]
    public void Direct_mmap_address_spaces_report_reserved_and_resident_bytes()
    {
        string name = "test-space-" + Guid.NewGuid();
        using var space = new DirectFuse.DirectMmap.MmapAddressSpace(new DirectFuse.DirectMmap.MmapAddressSpaceOptions { Name = name });
        var region = space.CreateRegion(4 * DirectFuse.DirectMmap.MmapAddressSpace.PageSize);
        var seen = new Dictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == FuseTelemetry.MeterName && instrument.Name.StartsWith("directfuse.mmap.")) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == FuseTelemetry.AddressSpaceTag && (string?)tag.Value == name) seen[instrument.Name] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.Equal(region.Size, seen["directfuse.mmap.reserved"]);
        Assert.Equal(space.Usage.Resident, seen["directfuse.mmap.resident"]);
    }

    [Fact]
    public void Each_request_is_a_span_named_after_its_opcode_with_the_errno_of_a_failure()
    {
        using var m = TempMount.Create(new MemFileSystem());
        var spans = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == FuseTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if ((string?)a.GetTagItem(FuseTelemetry.MountTag) == m.Session.MountPoint) spans.Enqueue(a);
            },
        };
        ActivitySource.AddActivityListener(listener);
        Assert.NotEqual(0, Run.Shell("stat missing-file", m.Path).ExitCode);

        // A span ends just after its reply is written: the program may have seen the reply first.
        SpinWait.SpinUntil(() => spans.Any(s => s.OperationName == "LOOKUP"), TimeSpan.FromSeconds(10));
        var lookup = spans.FirstOrDefault(s => s.OperationName == "LOOKUP" && (string?)s.GetTagItem(FuseTelemetry.ErrnoTag) == "ENOENT");
        Assert.True(lookup is not null, "no LOOKUP span with ENOENT among: " + string.Join(", ", spans.Select(s => s.OperationName)));
        Assert.Equal(ActivityKind.Server, lookup.Kind);
        Assert.Equal(ActivityStatusCode.Error, lookup.Status);
        Assert.Equal(1UL, lookup.GetTagItem("directfuse.node"));
        Assert.IsType<ulong>(lookup.GetTagItem("directfuse.unique"));
        // Requests are roots: a worker does not make the next request a child of the last.
        Assert.All(spans, s => Assert.Null(s.Parent));
    }
}
