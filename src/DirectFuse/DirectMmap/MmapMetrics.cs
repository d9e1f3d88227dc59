using DirectFuse.Session;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace DirectFuse.DirectMmap;

/// <summary>
/// The gauges <c>directfuse.mmap.reserved</c> and <c>directfuse.mmap.resident</c> on the engine's meter
/// (<see cref="FuseTelemetry"/>): one measurement per live address space, read only when a listener collects.
/// </summary>
internal static class MmapMetrics
{
    private static readonly Lock s_lock = new();
    // Weak: an address space nobody disposed must still be collectable.
    private static readonly List<WeakReference<MmapAddressSpace>> s_live = [];

    static MmapMetrics()
    {
        FuseTelemetry.Meter.CreateObservableGauge("directfuse.mmap.reserved", () => Observe(resident: false), "By",
            "Bytes the regions of each direct-mmap address space reserve against its quota.");
        FuseTelemetry.Meter.CreateObservableGauge("directfuse.mmap.resident", () => Observe(resident: true), "By",
            "Bytes of each direct-mmap address space's regions in memory.");
    }

    public static void Add(MmapAddressSpace space)
    {
        lock (s_lock) s_live.Add(new WeakReference<MmapAddressSpace>(space));
    }

    public static void Remove(MmapAddressSpace space)
    {
        lock (s_lock) s_live.RemoveAll(w => !w.TryGetTarget(out var s) || s == space);
    }

    private static List<System.Diagnostics.Metrics.Measurement<long>> Observe(bool resident)
    {
        var measurements = new List<System.Diagnostics.Metrics.Measurement<long>>();
        lock (s_lock)
        {
            s_live.RemoveAll(w => !w.TryGetTarget(out _));
            foreach (var weak in s_live)
            {
                if (!weak.TryGetTarget(out var space)) continue;
                var usage = space.Usage;
                measurements.Add(new(resident ? usage.Resident : usage.Reserved, new Tag(FuseTelemetry.AddressSpaceTag, space.Options.Name)));
            }
        }
        return measurements;
    }
}
