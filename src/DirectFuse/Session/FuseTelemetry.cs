using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DirectFuse.Session;

/// <summary>
/// The names under which every session reports what it serves: a <see cref="Meter"/> and an
/// <see cref="ActivitySource"/>, both called <see cref="MeterName"/> (<c>"DirectFuse"</c>). Nothing is measured
/// or traced unless a listener (OpenTelemetry, <c>dotnet-counters monitor --counters DirectFuse</c>, a
/// <see cref="MeterListener"/>) enables an instrument; with one attached a request still allocates nothing.
/// </summary>
/// <remarks>
/// <para>Instruments (OpenTelemetry naming; every one carries <see cref="MountTag"/>, the mount point or
/// <c>/dev/NAME</c> of a CUSE device, so several sessions in one process stay apart):</para>
/// <list type="bullet">
/// <item><c>directfuse.requests</c> (counter, <c>{request}</c>): requests answered, by <see cref="OpcodeTag"/> (LOOKUP, READ, ...).</item>
/// <item><c>directfuse.request.duration</c> (histogram, <c>s</c>): from dispatch to reply, by <see cref="OpcodeTag"/>.</item>
/// <item><c>directfuse.request.errors</c> (counter, <c>{request}</c>): requests answered with an error, by <see cref="ErrnoTag"/> (ENOENT, ...).</item>
/// <item><c>directfuse.active_requests</c> (up-down counter, <c>{request}</c>): requests being served now.</item>
/// <item><c>directfuse.io</c> (counter, <c>By</c>): bytes answered to READ and taken by WRITE, by <see cref="DirectionTag"/> (<c>read</c>, <c>write</c>).</item>
/// <item><c>directfuse.notifications</c> (counter, <c>{notification}</c>): notifications sent to the kernel, by <see cref="NotificationTag"/> (inval_inode, store, ...).</item>
/// <item><c>directfuse.mmap.reserved</c> and <c>directfuse.mmap.resident</c> (gauges, <c>By</c>): bytes of the
/// direct-mmap address spaces alive in the process, by <see cref="AddressSpaceTag"/>.</item>
/// </list>
/// <para>Tracing: one <see cref="ActivityKind.Server"/> span per request, named after its opcode, with the tags
/// <c>directfuse.unique</c>, <c>directfuse.node</c>, <see cref="MountTag"/> and, on an error,
/// <see cref="ErrnoTag"/>. A span is created only when a listener samples it.</para>
/// </remarks>
public static class FuseTelemetry
{
    /// <summary>The name of the <see cref="Meter"/> every session reports to: <c>"DirectFuse"</c>.</summary>
    public const string MeterName = "DirectFuse";

    /// <summary>The name of the <see cref="ActivitySource"/> of the per-request spans: <c>"DirectFuse"</c>.</summary>
    public const string ActivitySourceName = "DirectFuse";

    /// <summary>The tag naming the session: its mount point (or <c>/dev/NAME</c> of a CUSE device).</summary>
    public const string MountTag = "directfuse.mount";

    /// <summary>The tag naming a request's opcode, as the kernel headers spell it without <c>FUSE_</c> (<c>GETATTR</c>).</summary>
    public const string OpcodeTag = "directfuse.opcode";

    /// <summary>The tag naming the errno a request was answered with (<c>ENOENT</c>).</summary>
    public const string ErrnoTag = "directfuse.errno";

    /// <summary>The tag of <c>directfuse.io</c>: <c>read</c> or <c>write</c>.</summary>
    public const string DirectionTag = "directfuse.io.direction";

    /// <summary>The tag naming a notification's kind (<c>inval_inode</c>, <c>inval_entry</c>, <c>store</c>, ...).</summary>
    public const string NotificationTag = "directfuse.notification";

    /// <summary>The tag naming a direct-mmap address space (the name its options give it).</summary>
    public const string AddressSpaceTag = "directfuse.mmap.address_space";

    /// <summary>The meter shared by every session in the process (and by the direct-mmap gauges).</summary>
    internal static readonly Meter Meter = new(MeterName);

    internal static readonly ActivitySource Source = new(ActivitySourceName);

    internal static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("directfuse.requests", "{request}", "FUSE requests answered, by opcode.");

    internal static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("directfuse.request.duration", "s", "Time from dispatch to reply, by opcode.");

    internal static readonly Counter<long> Errors =
        Meter.CreateCounter<long>("directfuse.request.errors", "{request}", "Requests answered with an error, by errno.");

    internal static readonly UpDownCounter<long> Active =
        Meter.CreateUpDownCounter<long>("directfuse.active_requests", "{request}", "Requests being served.");

    internal static readonly Counter<long> Io =
        Meter.CreateCounter<long>("directfuse.io", "By", "Bytes answered to READ and taken by WRITE.");

    internal static readonly Counter<long> Notifications =
        Meter.CreateCounter<long>("directfuse.notifications", "{notification}", "Notifications sent to the kernel, by kind.");
}
