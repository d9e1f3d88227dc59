using System.Runtime.InteropServices;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// Requests about names and inodes: lookup counts, attributes, creating, linking and removing nodes.
internal sealed partial class FuseDispatcher
{
    internal static ValueTask Lookup(FuseDispatcher d, FuseRequest r) =>
        Entry(d, r, d.Fs.LookupAsync(r.Context(), r.NodeId, r.LookupNameAt(0), r.CancellationToken));

    internal static ValueTask Forget(FuseDispatcher d, FuseRequest r)
    {
        r.NoReply();
        d.Fs.Forget(r.NodeId, r.Arg<FuseForgetIn>().NLookup);
        return ValueTask.CompletedTask;
    }

    internal static ValueTask BatchForget(FuseDispatcher d, FuseRequest r)
    {
        r.NoReply();
        uint count = r.Arg<FuseBatchForgetIn>().Count;
        var entries = r.ArgBytes(FuseBatchForgetIn.Size, r.ArgsLength - FuseBatchForgetIn.Size).Span;
        if ((ulong)count * FuseForgetOne.Size > (ulong)entries.Length)
            throw new MalformedRequestException($"BATCH_FORGET: {count} entries do not fit in {entries.Length} bytes");
        foreach (var one in MemoryMarshal.Cast<byte, FuseForgetOne>(entries[..((int)count * FuseForgetOne.Size)]))
            d.Fs.Forget(new NodeId(one.NodeId), one.NLookup);
        return ValueTask.CompletedTask;
    }

    internal static ValueTask GetAttr(FuseDispatcher d, FuseRequest r)
    {
        var arg = r.ArgOrCompat<FuseGetAttrIn>();
        FileHandle? fh = (arg.GetAttrFlags & FuseGetAttrIn.FlagFh) != 0 ? new FileHandle(arg.Fh) : null;
        return Attr(d, r, d.Fs.GetAttrAsync(r.Context(), r.NodeId, fh, r.CancellationToken));
    }

    internal static ValueTask SetAttr(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseSetAttrIn>();
        var request = new SetAttrRequest
        {
            Valid = (SetAttrFields)a.Valid,
            Handle = ((SetAttrFields)a.Valid & SetAttrFields.Fh) != 0 ? new FileHandle(a.Fh) : null,
            // A size to truncate to is a file offset: 2^63 or more is malformed, not a negative length.
            Size = ((SetAttrFields)a.Valid & SetAttrFields.Size) != 0 ? r.FileOffset(a.FileSize) : (long)a.FileSize,
            Mode = a.Mode,
            Uid = a.Uid,
            Gid = a.Gid,
            Atime = new TimeSpec((long)a.Atime, a.AtimeNsec),
            Mtime = new TimeSpec((long)a.Mtime, a.MtimeNsec),
            Ctime = new TimeSpec((long)a.Ctime, a.CtimeNsec),
            LockOwner = a.LockOwner,
        };
        return Attr(d, r, d.Fs.SetAttrAsync(r.Context(), r.NodeId, request, r.CancellationToken));
    }

    internal static async ValueTask ReadLink(FuseDispatcher d, FuseRequest r)
    {
        // The kernel's out-argument is PAGE_SIZE - 1 bytes (no terminating zero); a longer reply is refused.
        var buffer = r.ReplyPayload(Environment.SystemPageSize - 1);
        AnswerBytes(r, await d.Fs.ReadLinkAsync(r.Context(), r.NodeId, buffer, r.CancellationToken).ConfigureAwait(false), buffer.Length);
    }

    internal static async ValueTask SymLink(FuseDispatcher d, FuseRequest r)
    {
        var name = r.EntryNameAt(0, out int next);
        var target = r.SymlinkTargetAt(next);
        AnswerEntry(r, await d.Fs.SymLinkAsync(r.Context(), r.NodeId, name, target, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask MkNod(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseMkNodIn>();
        AnswerEntry(r, await d.Fs.MkNodAsync(r.Context(a.Umask), r.NodeId, r.EntryNameAt(FuseMkNodIn.Size), a.Mode, a.Rdev, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask MkDir(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseMkDirIn>();
        AnswerEntry(r, await d.Fs.MkDirAsync(r.Context(a.Umask), r.NodeId, r.EntryNameAt(FuseMkDirIn.Size), a.Mode, r.CancellationToken).ConfigureAwait(false));
    }

    internal static ValueTask Unlink(FuseDispatcher d, FuseRequest r) =>
        Status(d, r, d.Fs.UnlinkAsync(r.Context(), r.NodeId, r.EntryNameAt(0), r.CancellationToken));

    internal static async ValueTask RmDir(FuseDispatcher d, FuseRequest r) =>
        Answer(r, await d.Fs.RmDirAsync(r.Context(), r.NodeId, r.EntryNameAt(0), r.CancellationToken).ConfigureAwait(false));

    internal static ValueTask Rename(FuseDispatcher d, FuseRequest r) =>
        RenameCore(d, r, new NodeId(r.Arg<FuseRenameIn>().NewDir), RenameFlags.None, FuseRenameIn.Size);

    internal static ValueTask Rename2(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseRename2In>();
        return RenameCore(d, r, new NodeId(a.NewDir), (RenameFlags)a.Flags, FuseRename2In.Size);
    }

    private static async ValueTask RenameCore(FuseDispatcher d, FuseRequest r, NodeId newParent, RenameFlags flags, int namesAt)
    {
        var name = r.EntryNameAt(namesAt, out int next);
        var newName = r.EntryNameAt(next);
        Answer(r, await d.Fs.RenameAsync(r.Context(), r.NodeId, name, newParent, newName, flags, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask Link(FuseDispatcher d, FuseRequest r)
    {
        var old = new NodeId(r.Arg<FuseLinkIn>().OldNodeId);
        AnswerEntry(r, await d.Fs.LinkAsync(r.Context(), old, r.NodeId, r.EntryNameAt(FuseLinkIn.Size), r.CancellationToken).ConfigureAwait(false));
    }
}
