using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// Connection-level requests: INIT, DESTROY, INTERRUPT, NOTIFY_REPLY, and the file-system-wide STATFS,
// ACCESS and SYNCFS.
internal sealed partial class FuseDispatcher
{
    /// <summary>The newest protocol this library speaks.</summary>
    public const uint ProtocolMajor = 7, ProtocolMinor = 45;
    /// <summary>The oldest kernel protocol accepted (struct layouts are unchanged from here on but for INIT's).</summary>
    public const uint OldestMinor = 12;
    private static readonly Errno EPROTO = new(71);

    internal static ValueTask Init(FuseDispatcher d, FuseRequest r)
    {
        // A FUSE INIT on a CUSE channel, or a second INIT on a live connection: only a broken kernel or a
        // process holding the device sends these, and set-up must not run again.
        if (d.Core.IsCuse || !d.Core.TryBeginInit())
        {
            d.Core.LogUnexpectedInit(r.Opcode.ToString());
            r.ReplyError(EPROTO);
            return ValueTask.CompletedTask;
        }
        var a = r.ArgOrCompat<FuseInitIn>();
        if (a.Major > ProtocolMajor)
        {
            // The kernel will send INIT again with our major version.
            d.Core.AbandonInit();
            r.ReplyTruncated(new FuseInitOut { Major = ProtocolMajor, Minor = ProtocolMinor }, FuseInitOut.Size);
            return ValueTask.CompletedTask;
        }
        if (a.Major < ProtocolMajor || a.Minor < OldestMinor)
        {
            d.Core.AbandonInit();
            d.Core.LogUnsupportedKernel(a.Major, a.Minor);
            r.ReplyError(EPROTO);
            return ValueTask.CompletedTask;
        }
        FuseInitOut reply;
        try
        {
            reply = d.Core.Negotiate(a, d.Fs);
        }
        catch (Exception e)
        {
            d.Core.FailInit(e);
            throw; // logged and answered with an error like any handler's exception
        }
        r.ReplyTruncated(reply, a.Minor < 23 ? FuseInitOut.Compat22Size : FuseInitOut.Size);
        d.Core.MarkInitialized();
        return ValueTask.CompletedTask;
    }

    internal static ValueTask Destroy(FuseDispatcher d, FuseRequest r)
    {
        d.Core.RunDestroy();
        r.ReplyEmpty();
        return ValueTask.CompletedTask;
    }

    internal static ValueTask Interrupt(FuseDispatcher d, FuseRequest r)
    {
        ulong target = r.Arg<FuseInterruptIn>().Unique;
        if (d.Core.Pool.TryInterrupt(target))
        {
            r.NoReply();
            return ValueTask.CompletedTask;
        }
        // Not (yet) seen: the interrupt may have overtaken its request on another thread. EAGAIN makes the
        // kernel queue it again; if the request has meanwhile been answered the kernel drops it.
        r.ReplyError(Errno.EAGAIN);
        return ValueTask.CompletedTask;
    }

    internal static ValueTask NotifyReply(FuseDispatcher d, FuseRequest r)
    {
        r.NoReply();
        var a = r.Arg<FuseNotifyRetrieveIn>();
        var data = r.ArgBytes(FuseNotifyRetrieveIn.Size, (int)Math.Min(a.RetrieveSize, (uint)(r.ArgsLength - FuseNotifyRetrieveIn.Size)));
        d.Core.Notifier.CompleteRetrieve(r.Header.Unique, (long)a.Offset, data.Span);
        return ValueTask.CompletedTask;
    }

    internal static async ValueTask StatFs(FuseDispatcher d, FuseRequest r)
    {
        var result = await d.Fs.StatFsAsync(r.Context(), r.NodeId, r.CancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out var s)) { r.ReplyError(result.Error); return; }
        r.Reply(new FuseKStatFs
        {
            Blocks = s.Blocks, BFree = s.BlocksFree, BAvail = s.BlocksAvailable, Files = s.Files, FFree = s.FilesFree,
            BSize = s.BlockSize, NameLen = s.NameMax, FrSize = s.FragmentSize,
        });
    }

    internal static async ValueTask Access(FuseDispatcher d, FuseRequest r) =>
        Answer(r, await d.Fs.AccessAsync(r.Context(), r.NodeId, (int)r.Arg<FuseAccessIn>().Mask, r.CancellationToken).ConfigureAwait(false));

    internal static async ValueTask SyncFs(FuseDispatcher d, FuseRequest r) =>
        Answer(r, await d.Fs.SyncFsAsync(r.Context(), r.NodeId, r.CancellationToken).ConfigureAwait(false));
}
