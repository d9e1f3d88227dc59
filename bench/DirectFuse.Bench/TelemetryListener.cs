using System.Diagnostics;
using System.Diagnostics.Metrics;
using DirectFuse.Session;

namespace DirectFuse.Bench;

/// <summary>
/// What <c>alloc --telemetry</c> attaches: <c>metrics</c> enables every DirectFuse instrument with callbacks that
/// only add up (the cheapest possible consumer, so what is measured is the library's side); <c>traces</c> also
/// samples every request's span.
/// </summary>
internal sealed class TelemetryListener : IDisposable
{
    private readonly MeterListener? _meters;
    private readonly ActivityListener? _activities;
    private long _sum;

    private TelemetryListener(bool metrics, bool traces)
    {
        if (metrics)
        {
            _meters = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name == FuseTelemetry.MeterName) l.EnableMeasurementEvents(instrument);
                },
            };
            _meters.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _sum, value));
            _meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _sum));
            _meters.Start();
        }
        if (traces)
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = source => source.Name == FuseTelemetry.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(_activities);
        }
    }

    public static TelemetryListener Start(string kind) => kind switch
    {
        "none" => new TelemetryListener(false, false),
        "metrics" => new TelemetryListener(true, false),
        "traces" => new TelemetryListener(true, true),
        _ => throw new ArgumentException($"--telemetry {kind}: none, metrics or traces"),
    };

    public void Dispose()
    {
        _meters?.Dispose();
        _activities?.Dispose();
    }
}
