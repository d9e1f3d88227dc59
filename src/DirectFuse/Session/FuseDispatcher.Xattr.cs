using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// Extended attributes.
internal sealed partial class FuseDispatcher
{
    private const int XattrSizeMax = 65536;

    internal static async ValueTask SetXattr(FuseDispatcher d, FuseRequest r)
    {
        // With FUSE_SETXATTR_EXT the argument struct is 16 bytes, otherwise the 8-byte original.
        bool ext = d.Connection.Has(InitFlags.SetxattrExt);
        var a = r.ArgOrCompat<FuseSetXattrIn>();
        int headerSize = ext ? FuseSetXattrIn.Size : FuseSetXattrIn.CompatSize;
        var name = r.XattrNameAt(headerSize, out int next);
        var value = r.ArgBytes(next, a.ValueSize);
        Answer(r, await d.Fs.SetXattrAsync(r.Context(), r.NodeId, name, value, (int)a.Flags, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask GetXattr(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseGetXattrIn>();
        var name = r.XattrNameAt(FuseGetXattrIn.Size, out _);
        int size = (int)Math.Min(a.BufferSize, XattrSizeMax);
        // The value is written after room for a fuse_getxattr_out, used when the kernel only asks for the size.
        var buffer = r.ReplyPayload(size);
        var result = await d.Fs.GetXattrAsync(r.Context(), r.NodeId, name, size == 0 ? Memory<byte>.Empty : buffer, r.CancellationToken).ConfigureAwait(false);
        AnswerSizeOrBytes(r, result, size, buffer.Length);
    }

    internal static async ValueTask ListXattr(FuseDispatcher d, FuseRequest r)
    {
        int size = (int)Math.Min(r.Arg<FuseGetXattrIn>().BufferSize, XattrSizeMax);
        var buffer = r.ReplyPayload(size);
        var result = await d.Fs.ListXattrAsync(r.Context(), r.NodeId, size == 0 ? Memory<byte>.Empty : buffer, r.CancellationToken).ConfigureAwait(false);
        AnswerSizeOrBytes(r, result, size, buffer.Length);
    }

    private static void AnswerSizeOrBytes(FuseRequest r, in Result<int> result, int requested, int limit)
    {
        if (!result.TryGetValue(out int n)) { r.ReplyError(result.Error); return; }
        if (requested == 0) r.Reply(new FuseGetXattrOut { ValueSize = (uint)n });
        else if (n > limit) r.ReplyError(Errno.ERANGE);
        else r.ReplyPayloadBytes(n);
    }

    internal static async ValueTask RemoveXattr(FuseDispatcher d, FuseRequest r) =>
        Answer(r, await d.Fs.RemoveXattrAsync(r.Context(), r.NodeId, r.XattrNameAt(0, out _), r.CancellationToken).ConfigureAwait(false));
}
