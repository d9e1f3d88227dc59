using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// Directory handles and listings.
internal sealed partial class FuseDispatcher
{
    internal static async ValueTask OpenDir(FuseDispatcher d, FuseRequest r) =>
        AnswerOpen(r, await d.Fs.OpenDirAsync(r.Context(), r.NodeId, (int)r.Arg<FuseOpenIn>().Flags, r.CancellationToken).ConfigureAwait(false));

    internal static ValueTask ReadDir(FuseDispatcher d, FuseRequest r) => ReadDirCore(d, r, plus: false);

    internal static ValueTask ReadDirPlus(FuseDispatcher d, FuseRequest r) => ReadDirCore(d, r, plus: true);

    private static async ValueTask ReadDirCore(FuseDispatcher d, FuseRequest r, bool plus)
    {
        var a = r.Arg<FuseReadIn>();
        var buffer = r.Directory((int)Math.Min(a.ReadSize, int.MaxValue), plus);
        var errno = await d.Fs.ReadDirAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), (long)a.Offset, buffer, r.CancellationToken).ConfigureAwait(false);
        // Entries already added count as lookups in the file system: they must reach the kernel, so an error
        // after the first entry ends the listing instead of replacing it (as libfuse does).
        if (!errno.IsOk && buffer.Count == 0) r.ReplyError(errno);
        else r.ReplyPayloadBytes(buffer.Length);
    }

    internal static async ValueTask ReleaseDir(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseReleaseIn>();
        Answer(r, await d.Fs.ReleaseDirAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), (int)a.Flags, r.CancellationToken).ConfigureAwait(false));
    }

    internal static async ValueTask FsyncDir(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseFsyncIn>();
        Answer(r, await d.Fs.FsyncDirAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), (a.FsyncFlags & FuseFsyncIn.FlagDataSync) != 0, r.CancellationToken).ConfigureAwait(false));
    }
}
