using System.Diagnostics;
using DirectFuse.Protocol;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace DirectFuse.Session;

/// <summary>
/// One session's side of <see cref="FuseTelemetry"/>: the tag lists of its mount, built once, so that measuring
/// a request allocates nothing, and the checks that make it cost a few field reads when nobody listens.
/// </summary>
internal sealed class FuseMetrics
{
    private readonly Tag[] _mount;
    // Per opcode row (indexed by opcode number) and per errno value: [mount, opcode] and [mount, errno].
    private readonly Tag[]?[] _byOpcode;
    private readonly Tag[] _cuseInit;
    private readonly Tag[] _unknownOpcode;
    private readonly Tag[]?[] _byErrno = new Tag[]?[256];
    private readonly Tag[] _read, _write;
    private readonly Tag[]?[] _byNotification = new Tag[]?[16];

    public FuseMetrics(string mount)
    {
        Mount = mount;
        var mountTag = new Tag(FuseTelemetry.MountTag, mount);
        _mount = [mountTag];
        var rows = OpcodeTable.All.Where(i => i.Opcode != FuseOpcode.CuseInit).ToArray();
        _byOpcode = new Tag[]?[rows.Max(i => (int)i.Opcode) + 1];
        foreach (var row in rows) _byOpcode[(int)row.Opcode] = [mountTag, new(FuseTelemetry.OpcodeTag, row.Name)];
        _cuseInit = [mountTag, new(FuseTelemetry.OpcodeTag, OpcodeTable.CuseInit.Name)];
        _unknownOpcode = [mountTag, new(FuseTelemetry.OpcodeTag, "UNKNOWN")];
        _read = [mountTag, new(FuseTelemetry.DirectionTag, "read")];
        _write = [mountTag, new(FuseTelemetry.DirectionTag, "write")];
    }

    /// <summary>The value of <see cref="FuseTelemetry.MountTag"/> for this session.</summary>
    public string Mount { get; }

    /// <summary>A request is about to be served: counts it active, starts its clock and its span, for whoever listens.</summary>
    public void Begin(FuseRequest r, OpcodeInfo? info)
    {
        r.CountedActive = FuseTelemetry.Active.Enabled;
        if (r.CountedActive) FuseTelemetry.Active.Add(1, _mount);
        r.TelemetryStart = FuseTelemetry.Duration.Enabled ? Stopwatch.GetTimestamp() : 0;
        r.Activity = FuseTelemetry.Source.HasListeners() ? StartActivity(r, info) : null;
    }

    private Activity? StartActivity(FuseRequest r, OpcodeInfo? info)
    {
        var activity = FuseTelemetry.Source.StartActivity(info?.Name ?? "UNKNOWN", ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(FuseTelemetry.MountTag, Mount);
            activity.SetTag("directfuse.unique", r.Header.Unique);
            activity.SetTag("directfuse.node", r.Header.NodeId);
        }
        return activity;
    }

    /// <summary>
    /// The handler went asynchronous: the worker thread must not keep the request's span as its current one,
    /// or the next request it reads would become its child.
    /// </summary>
    public static void LeaveWorkerThread(FuseRequest r)
    {
        if (r.Activity is { } activity && Activity.Current == activity) Activity.Current = activity.Parent;
    }

    /// <summary>The request was answered (or needs no answer): records it, its duration and its errno.</summary>
    public void End(FuseRequest r, OpcodeInfo? info)
    {
        bool counted = FuseTelemetry.Requests.Enabled;
        if (counted || r.TelemetryStart != 0)
        {
            var tags = OpcodeTags(info);
            if (counted) FuseTelemetry.Requests.Add(1, (ReadOnlySpan<Tag>)tags);
            if (r.TelemetryStart != 0)
            {
                FuseTelemetry.Duration.Record(Stopwatch.GetElapsedTime(r.TelemetryStart).TotalSeconds, (ReadOnlySpan<Tag>)tags);
                r.TelemetryStart = 0;
            }
        }
        var errno = r.ReplyErrno;
        bool failed = r.Replied && !errno.IsOk;
        if (failed && FuseTelemetry.Errors.Enabled) FuseTelemetry.Errors.Add(1, (ReadOnlySpan<Tag>)ErrnoTags(errno));
        if (r.CountedActive)
        {
            FuseTelemetry.Active.Add(-1, (ReadOnlySpan<Tag>)_mount);
            r.CountedActive = false;
        }
        if (r.Activity is { } activity)
        {
            if (failed)
            {
                activity.SetTag(FuseTelemetry.ErrnoTag, errno.Name);
                activity.SetStatus(ActivityStatusCode.Error, errno.Name);
            }
            activity.Stop();
            r.Activity = null;
        }
    }

    private Tag[] OpcodeTags(OpcodeInfo? info) =>
        info is null ? _unknownOpcode : info.Opcode == FuseOpcode.CuseInit ? _cuseInit : _byOpcode[(int)info.Opcode] ?? _unknownOpcode;

    /// <summary>Bytes answered to a READ.</summary>
    public void Read(int bytes)
    {
        if (bytes > 0 && FuseTelemetry.Io.Enabled) FuseTelemetry.Io.Add(bytes, (ReadOnlySpan<Tag>)_read);
    }

    /// <summary>Bytes a WRITE took.</summary>
    public void Wrote(int bytes)
    {
        if (bytes > 0 && FuseTelemetry.Io.Enabled) FuseTelemetry.Io.Add(bytes, (ReadOnlySpan<Tag>)_write);
    }

    /// <summary>A notification reached the kernel.</summary>
    public void Notified(FuseNotifyCode code)
    {
        if (!FuseTelemetry.Notifications.Enabled) return;
        // Slot 0 for codes this table does not know ("other").
        int slot = (uint)code < (uint)_byNotification.Length ? (int)code : 0;
        var tags = Volatile.Read(ref _byNotification[slot]) ?? Cache(ref _byNotification[slot], NotificationName(code));
        FuseTelemetry.Notifications.Add(1, (ReadOnlySpan<Tag>)tags);
    }

    private Tag[] ErrnoTags(Errno errno)
    {
        int value = errno.Value;
        if ((uint)value >= (uint)_byErrno.Length) return [_mount[0], new(FuseTelemetry.ErrnoTag, errno.Name)];
        return Volatile.Read(ref _byErrno[value]) ?? Cache(ref _byErrno[value], errno.Name, FuseTelemetry.ErrnoTag);
    }

    // Built on first use, once per session (a race builds it twice, harmlessly).
    private Tag[] Cache(ref Tag[]? slot, string value, string key = FuseTelemetry.NotificationTag)
    {
        Tag[] tags = [_mount[0], new(key, value)];
        return Interlocked.CompareExchange(ref slot, tags, null) ?? tags;
    }

    private static string NotificationName(FuseNotifyCode code) => code switch
    {
        FuseNotifyCode.Poll => "poll",
        FuseNotifyCode.InvalInode => "inval_inode",
        FuseNotifyCode.InvalEntry => "inval_entry",
        FuseNotifyCode.Store => "store",
        FuseNotifyCode.Retrieve => "retrieve",
        FuseNotifyCode.Delete => "delete",
        FuseNotifyCode.Resend => "resend",
        FuseNotifyCode.IncEpoch => "inc_epoch",
        FuseNotifyCode.Prune => "prune",
        _ => "other",
    };
}
