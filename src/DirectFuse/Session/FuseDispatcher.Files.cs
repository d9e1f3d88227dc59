using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// Requests on open files: open/create, data, flush/release/fsync, fallocate, lseek, copy_file_range,
// ioctl and poll.
internal sealed partial class FuseDispatcher
{
    /// <summary><c>FUSE_OPEN_KILL_SUIDGID</c> in the open_flags of OPEN and CREATE.</summary>
    private const uint OpenKillSuidGid = 1 << 0;

    internal static ValueTask Open(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseOpenIn>();
        var context = r.Context(killSuidSgid: (a.OpenFlags & OpenKillSuidGid) != 0);
        var pending = d.Fs.OpenAsync(context, r.NodeId, (int)a.Flags, r.CancellationToken);
        return AnswerWhenDone<Result<OpenReply>, OpenAnswer>(d, r, pending);
    }

    private struct OpenAnswer : IAnswer<Result<OpenReply>>
    {
        public static void Send(FuseDispatcher d, FuseRequest r, in Result<OpenReply> result) => AnswerOpen(r, result);
    }

    internal static ValueTask Create(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseCreateIn>();
        var pending = d.Fs.CreateAsync(r.Context(a.Umask, killSuidSgid: (a.OpenFlags & OpenKillSuidGid) != 0), r.NodeId, r.EntryNameAt(FuseCreateIn.Size), a.Mode, (int)a.Flags, r.CancellationToken);
        return AnswerWhenDone<Result<CreateReply>, CreateAnswer>(d, r, pending);
    }

    private struct CreateAnswer : IAnswer<Result<CreateReply>>
    {
        public static void Send(FuseDispatcher d, FuseRequest r, in Result<CreateReply> result) => AnswerCreate(r, result);
    }

    private static void AnswerCreate(FuseRequest r, in Result<CreateReply> result)
    {
        if (!result.IsOk) { r.ReplyError(result.Error); return; }
        ref readonly var created = ref result.ValueRef;
        ref var reply = ref r.ReplyStruct<CreateOut>();
        created.Entry.WriteTo(ref reply.Entry);
        reply.Open = ToOpenOut(created.Open);
        r.SendStruct<CreateOut>();
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct CreateOut
    {
        public FuseEntryOut Entry;
        public FuseOpenOut Open;
    }

    internal static ValueTask Read(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseReadIn>();
        var buffer = r.ReplyPayload((int)Math.Min(a.ReadSize, int.MaxValue));
        var pending = d.Fs.ReadAsync(r.Context(fileFlags: (int)a.Flags), r.NodeId, new FileHandle(a.Fh), r.FileOffset(a.Offset), buffer, r.CancellationToken);
        if (!pending.IsCompletedSuccessfully) return AwaitRead(d, r, pending, buffer.Length);
        AnswerRead(d, r, pending.Result, buffer.Length);
        return ValueTask.CompletedTask;
    }

    private static async ValueTask AwaitRead(FuseDispatcher d, FuseRequest r, ValueTask<Result<int>> pending, int limit) =>
        AnswerRead(d, r, await pending.ConfigureAwait(false), limit);

    private static void AnswerRead(FuseDispatcher d, FuseRequest r, Result<int> result, int limit)
    {
        AnswerBytes(r, result, limit);
        if (result.TryGetValue(out int read)) d.Metrics.Read(read);
    }

    internal static ValueTask Write(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseWriteIn>();
        var data = r.ArgBytes(FuseWriteIn.Size, a.WriteSize);
        var pending = d.Fs.WriteAsync(r.Context(fileFlags: (int)a.Flags), r.NodeId, new FileHandle(a.Fh), r.FileOffset(a.Offset), data, (WriteFlags)a.WriteFlags, r.CancellationToken);
        return AnswerWhenDone<Result<int>, WriteAnswer>(d, r, pending);
    }

    private struct WriteAnswer : IAnswer<Result<int>>
    {
        public static void Send(FuseDispatcher d, FuseRequest r, in Result<int> result) => AnswerWrite(d, r, result);
    }

    private static void AnswerWrite(FuseDispatcher d, FuseRequest r, in Result<int> result)
    {
        if (!result.TryGetValue(out int written)) { r.ReplyError(result.Error); return; }
        r.Reply(new FuseWriteOut { WriteSize = (uint)written });
        d.Metrics.Wrote(written);
    }

    internal static ValueTask Flush(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseFlushIn>();
        return Status(d, r, d.Fs.FlushAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), a.LockOwner, r.CancellationToken));
    }

    internal static ValueTask Release(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseReleaseIn>();
        return Status(d, r, d.Fs.ReleaseAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), (int)a.Flags, (ReleaseFlags)a.ReleaseFlags, a.LockOwner, r.CancellationToken));
    }

    internal static async ValueTask Fsync(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseFsyncIn>();
        Answer(r, await d.Fs.FsyncAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), (a.FsyncFlags & FuseFsyncIn.FlagDataSync) != 0, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask Fallocate(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseFallocateIn>();
        Answer(r, await d.Fs.FallocateAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), r.FileOffset(a.Offset), r.FileOffset(a.Length), (int)a.Mode, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask Lseek(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseLseekIn>();
        var result = await d.Fs.LseekAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), r.FileOffset(a.Offset), (int)a.Whence, r.CancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out long offset)) { r.ReplyError(result.Error); return; }
        r.Reply((ulong)offset);
    }

    internal static async ValueTask CopyFileRange(FuseDispatcher d, FuseRequest r)
    {
        var result = await CopyFileRangeCore(d, r).ConfigureAwait(false);
        if (!result.TryGetValue(out long copied)) { r.ReplyError(result.Error); return; }
        // The legacy reply is a fuse_write_out: 32 bits of byte count.
        r.Reply(new FuseWriteOut { WriteSize = (uint)Math.Min(copied, uint.MaxValue) });
    }

    internal static async ValueTask CopyFileRange64(FuseDispatcher d, FuseRequest r)
    {
        var result = await CopyFileRangeCore(d, r).ConfigureAwait(false);
        if (!result.TryGetValue(out long copied)) { r.ReplyError(result.Error); return; }
        r.Reply((ulong)copied); // struct fuse_copy_file_range_out { uint64_t bytes_copied; }
    }

    private static ValueTask<Result<long>> CopyFileRangeCore(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseCopyFileRangeIn>();
        return d.Fs.CopyFileRangeAsync(r.Context(), r.NodeId, new FileHandle(a.FhIn), r.FileOffset(a.OffIn),
            new NodeId(a.NodeIdOut), new FileHandle(a.FhOut), r.FileOffset(a.OffOut), (long)Math.Min(a.Len, long.MaxValue), a.Flags, r.CancellationToken);
    }

    internal static async ValueTask Ioctl(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseIoctlIn>();
        // CUSE channels with CUSE_UNRESTRICTED_IOCTL: the retry protocol (FuseDispatcher.Cuse.cs).
        if (((IoctlFlags)a.Flags & IoctlFlags.Unrestricted) != 0 && d.Core.Cuse is { } cuse) { await CuseIoctl(d, r, cuse).ConfigureAwait(false); return; }
        // The kernel sends exactly in_size bytes; out_size is bounded by the reply buffer (ReplyPayload clamps).
        var input = r.ArgBytes(FuseIoctlIn.Size, a.InSize);
        var output = r.ReplyPayload((int)Math.Min(FuseIoctlOut.Size + (long)a.OutSize, int.MaxValue))[FuseIoctlOut.Size..];
        var result = await d.Fs.IoctlAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), a.Cmd, a.Arg, input, output, (IoctlFlags)a.Flags, r.CancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out var reply)) { r.ReplyError(result.Error); return; }
        if (reply.OutLength < 0 || reply.OutLength > output.Length)
            throw new InvalidOperationException($"IOCTL: handler returned {reply.OutLength} output bytes for a {output.Length}-byte buffer");
        var header = new FuseIoctlOut { Result = reply.Result };
        System.Runtime.InteropServices.MemoryMarshal.Write(r.ReplyPayload(FuseIoctlOut.Size).Span, in header);
        r.ReplyPayloadBytes(FuseIoctlOut.Size + reply.OutLength);
    }

    internal static async ValueTask Poll(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FusePollIn>();
        ulong? kh = (a.Flags & FusePollIn.FlagScheduleNotify) != 0 ? a.Kh : null;
        var result = await d.Fs.PollAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), kh, a.Events, r.CancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out uint revents)) { r.ReplyError(result.Error); return; }
        r.Reply(((ulong)revents)); // struct fuse_poll_out { uint32_t revents; uint32_t padding; }
    }
}
