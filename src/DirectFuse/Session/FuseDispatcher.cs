using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Session;

/// <summary>
/// Parses a request, calls the file system, answers. Knows nothing of the transport: it serves whatever
/// channel the request was read from (/dev/fuse, a clone, /dev/cuse, a test socket).
/// Handlers live in partial files by concern (Dispatcher.Entries.cs, .Files.cs, .Directories.cs, ...).
/// </summary>
internal sealed partial class FuseDispatcher
{
    public FuseDispatcher(FuseSessionCore core, LowLevelFileSystem fileSystem, ILogger logger, bool debug)
    {
        Core = core;
        Fs = fileSystem;
        Logger = logger;
        Debug = debug;
    }

    public FuseSessionCore Core { get; }
    public LowLevelFileSystem Fs { get; }
    public ILogger Logger { get; }
    public bool Debug { get; }
    public FuseMetrics Metrics => Core.Metrics;
    public FuseConnection Connection => Core.Connection;

    /// <summary>
    /// Handles one request read into <paramref name="r"/>. Completes synchronously when the handler does;
    /// never throws: every failure becomes a reply.
    /// </summary>
    public ValueTask DispatchAsync(FuseRequest r)
    {
        if (r.Length < FuseInHeader.Size)
        {
            LogMalformed(Logger, r.Length, "shorter than the request header");
            return ValueTask.CompletedTask;
        }
        var info = OpcodeTable.Get(r.Opcode);
        Metrics.Begin(r, info);
        if (r.Header.Len != (uint)r.Length || r.ArgsEnd < FuseInHeader.Size)
        {
            LogMalformed(Logger, r.Length, $"header says {r.Header.Len} bytes, {r.Header.TotalExtLen * 8} of extensions");
            if (info?.HasReply != false) r.ReplyError(Errno.EINVAL);
            return Answered(r, info);
        }
        if (info is null)
        {
            r.ReplyError(Errno.ENOSYS);
            LogDebug(r);
            return Answered(r, info);
        }
        if (r.ArgsLength < info.MinArgSize)
        {
            LogMalformed(Logger, r.Length, $"{info.Name} needs {info.MinArgSize} bytes of arguments, got {r.ArgsLength}");
            if (info.HasReply) r.ReplyError(Errno.EINVAL);
            return Answered(r, info);
        }
        if (!Core.Initialized && r.Opcode is not (FuseOpcode.Init or FuseOpcode.CuseInit))
        {
            // Sent after the kernel took our INIT reply, read by another worker before the first finished writing it.
            if (Core.InitInProgress) SpinWait.SpinUntil(() => !Core.InitInProgress, TimeSpan.FromSeconds(5));
            if (!Core.Initialized)
            {
                // Before INIT nothing is served; requests that take no answer (FORGET, NOTIFY_REPLY) get none.
                if (info.HasReply) r.ReplyError(Errno.EIO);
                else r.NoReply();
                return Answered(r, info);
            }
        }

        if (Core.OwnerAndRootOnly && OwnerOnlyAccess.Refuses(r.Header.Uid, Core.Owner, r.Opcode, info.HasReply))
        {
            r.ReplyError(Errno.EACCES);
            LogDebug(r);
            return Answered(r, info);
        }

        r.BeginActive();
        ValueTask pending;
        try
        {
            pending = info.Handler(this, r);
        }
        catch (Exception e)
        {
            Fail(r, info, e);
            Finish(r, info);
            return ValueTask.CompletedTask;
        }
        if (pending.IsCompletedSuccessfully)
        {
            Finish(r, info);
            return ValueTask.CompletedTask;
        }
        FuseMetrics.LeaveWorkerThread(r);
        return AwaitHandler(pending, r, info);
    }

    /// <summary>A request answered before its handler ran (malformed, unknown, refused).</summary>
    private ValueTask Answered(FuseRequest r, OpcodeInfo? info)
    {
        Metrics.End(r, info);
        return ValueTask.CompletedTask;
    }

    private async ValueTask AwaitHandler(ValueTask pending, FuseRequest r, OpcodeInfo info)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, info, e);
        }
        Finish(r, info);
    }

    private void Fail(FuseRequest r, OpcodeInfo info, Exception e)
    {
        var errno = e is MalformedRequestException malformed ? malformed.Errno : Errno.FromException(e);
        // Malformed input is the sender's fault: one warning line, no stack trace.
        if (e is MalformedRequestException) LogMalformed(Logger, r.Length, e.Message);
        // A name that is not UTF-8 (FileName.Text) is the client's doing, not a handler failure.
        else if (e is not (FuseException or OperationCanceledException or System.Text.DecoderFallbackException)) LogHandlerFailed(Logger, e, info.Name, r.Header.NodeId);
        if (info.HasReply && !r.Replied) r.ReplyError(errno);
    }

    private void Finish(FuseRequest r, OpcodeInfo info)
    {
        if (info.HasReply && !r.Replied)
        {
            // A handler path that forgot to answer: the caller must not hang.
            LogNoReply(Logger, info.Name);
            r.ReplyError(Errno.EIO);
        }
        if (!r.RefusedErrno.IsOk) LogRefusedErrno(Logger, info.Name, r.Header.NodeId, r.RefusedErrno.Value);
        r.EndActive();
        Metrics.End(r, info);
        LogDebug(r);
    }

    private void LogDebug(FuseRequest r)
    {
        if (!Debug) return;
        string result = !r.Replied ? "no reply" : r.ReplyErrno.IsOk ? "OK" : "-" + r.ReplyErrno.Name;
        LogRequest(Logger, r.Header.Unique, OpcodeTable.NameOf(r.Opcode), r.Header.NodeId, r.Header.Uid, r.Header.Pid, result);
    }

    // ---- Reply helpers shared by the handler files ---------------------------------------------------------

    private static void Answer(FuseRequest r, Errno errno)
    {
        if (errno.IsOk) r.ReplyEmpty();
        else r.ReplyError(errno);
    }

    // The common handlers are not async methods: when the file system completed synchronously (the loopback
    // always does), they answer at once, without an async state machine and the copies of the (large) result
    // into and out of it — about 2 % of a LOOKUP's samples over io_uring. Otherwise they await.

    /// <summary>Turns a handler's result into its reply. Implemented by empty structs, so that every use of
    /// <see cref="AnswerWhenDone"/> is specialised and calls it directly.</summary>
    private interface IAnswer<T>
    {
        static abstract void Send(FuseDispatcher d, FuseRequest r, in T result);
    }

    private static ValueTask AnswerWhenDone<T, TAnswer>(FuseDispatcher d, FuseRequest r, in ValueTask<T> pending)
        where TAnswer : struct, IAnswer<T>
    {
        if (!pending.IsCompletedSuccessfully) return AwaitAnswer<T, TAnswer>(d, r, pending);
        TAnswer.Send(d, r, pending.Result);
        return ValueTask.CompletedTask;
    }

    private static async ValueTask AwaitAnswer<T, TAnswer>(FuseDispatcher d, FuseRequest r, ValueTask<T> pending)
        where TAnswer : struct, IAnswer<T> =>
        TAnswer.Send(d, r, await pending.ConfigureAwait(false));

    private struct EntryAnswer : IAnswer<Result<EntryReply>>
    {
        public static void Send(FuseDispatcher d, FuseRequest r, in Result<EntryReply> result) => AnswerEntry(r, result);
    }

    private struct AttrAnswer : IAnswer<Result<AttrReply>>
    {
        public static void Send(FuseDispatcher d, FuseRequest r, in Result<AttrReply> result) => AnswerAttr(r, result);
    }

    private struct StatusAnswer : IAnswer<Errno>
    {
        public static void Send(FuseDispatcher d, FuseRequest r, in Errno result) => Answer(r, result);
    }

    private static ValueTask Entry(FuseDispatcher d, FuseRequest r, in ValueTask<Result<EntryReply>> pending) =>
        AnswerWhenDone<Result<EntryReply>, EntryAnswer>(d, r, pending);

    private static ValueTask Attr(FuseDispatcher d, FuseRequest r, in ValueTask<Result<AttrReply>> pending) =>
        AnswerWhenDone<Result<AttrReply>, AttrAnswer>(d, r, pending);

    private static ValueTask Status(FuseDispatcher d, FuseRequest r, in ValueTask<Errno> pending) =>
        AnswerWhenDone<Errno, StatusAnswer>(d, r, pending);

    // Entry and attribute replies are written straight into the reply buffer (no struct copied there).
    private static void AnswerEntry(FuseRequest r, in Result<EntryReply> result)
    {
        if (!result.IsOk) { r.ReplyError(result.Error); return; }
        result.ValueRef.WriteTo(ref r.ReplyStruct<FuseEntryOut>());
        r.SendStruct<FuseEntryOut>();
    }

    private static void AnswerAttr(FuseRequest r, in Result<AttrReply> result)
    {
        if (!result.IsOk) { r.ReplyError(result.Error); return; }
        ref readonly var attr = ref result.ValueRef;
        ref var a = ref r.ReplyStruct<FuseAttrOut>();
        (a.AttrValid, a.AttrValidNsec) = EntryReply.SplitTimeout(attr.Timeout);
        attr.Attr.WriteTo(ref a.Attr);
        r.SendStruct<FuseAttrOut>();
    }

    private static FuseOpenOut ToOpenOut(in OpenReply open) =>
        new() { Fh = open.Handle.Value, OpenFlags = (uint)open.Flags, BackingId = open.BackingId };

    private static void AnswerOpen(FuseRequest r, in Result<OpenReply> result)
    {
        if (!result.TryGetValue(out var open)) { r.ReplyError(result.Error); return; }
        r.Reply(ToOpenOut(open));
    }

    /// <summary>Answers a handler that wrote <c>result</c> bytes into the reply payload.</summary>
    private static void AnswerBytes(FuseRequest r, in Result<int> result, int limit)
    {
        if (!result.TryGetValue(out int n)) { r.ReplyError(result.Error); return; }
        if (n < 0 || n > limit) throw new InvalidOperationException($"{r.Opcode}: handler returned {n} bytes for a {limit}-byte buffer");
        r.ReplyPayloadBytes(n);
    }

    internal static ValueTask NotSupported(FuseDispatcher d, FuseRequest r)
    {
        r.ReplyError(Errno.ENOSYS);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed request ({Length} bytes): {Reason}")]
    private static partial void LogMalformed(ILogger logger, int length, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Opcode} on node {NodeId} failed; answered with an errno")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string opcode, ulong nodeId);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Opcode} handler completed without a reply; answered EIO")]
    private static partial void LogNoReply(ILogger logger, string opcode);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Opcode} on node {NodeId} answered errno {Errno}, which the kernel refuses (it takes 1..511); answered EIO")]
    private static partial void LogRefusedErrno(ILogger logger, string opcode, ulong nodeId, int errno);

    [LoggerMessage(Level = LogLevel.Information, Message = "unique={Unique} {Opcode} nodeid={NodeId} uid={Uid} pid={Pid} -> {Result}")]
    private static partial void LogRequest(ILogger logger, ulong unique, string opcode, ulong nodeId, uint uid, uint pid, string result);
}
