using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DirectFuse.Session;

namespace DirectFuse.Tests.Observability;

/// <summary>
/// A <see cref="MeterListener"/> on every DirectFuse instrument that sums what one mount reports, by instrument
/// and by the instrument's other tag (opcode, errno, direction, ...).
/// </summary>
internal sealed class MountMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _mount;
    private readonly ConcurrentDictionary<(string Instrument, string Tag), double> _sums = new();
    private readonly ConcurrentDictionary<(string Instrument, string Tag), long> _counts = new();

    public MountMetrics(string mount)
    {
        _mount = mount;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == FuseTelemetry.MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Add(i, value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Add(i, value, tags));
        _listener.Start();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? mount = null, other = "";
        foreach (var (key, tagValue) in tags)
        {
            if (key == FuseTelemetry.MountTag) mount = tagValue as string;
            else other = tagValue as string ?? "";
        }
        if (mount != _mount) return;
        _sums.AddOrUpdate((instrument.Name, other), value, (_, sum) => sum + value);
        _counts.AddOrUpdate((instrument.Name, other), 1, (_, n) => n + 1);
    }

    /// <summary>The sum of the measurements of <paramref name="instrument"/> with <paramref name="tag"/> ("" for none).</summary>
    public double Sum(string instrument, string tag = "") => _sums.GetValueOrDefault((instrument, tag));

    /// <summary>How many measurements <paramref name="instrument"/> had with <paramref name="tag"/>.</summary>
    public long Count(string instrument, string tag = "") => _counts.GetValueOrDefault((instrument, tag));

    public string Dump() => string.Join("\n", _sums.OrderBy(p => p.Key).Select(p => $"{p.Key.Instrument} {p.Key.Tag} = {p.Value} ({_counts.GetValueOrDefault(p.Key)})"));

    public void Dispose() => _listener.Dispose();
}
