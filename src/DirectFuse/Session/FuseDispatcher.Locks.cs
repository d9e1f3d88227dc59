using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// POSIX record locks and flock(2).
internal sealed partial class FuseDispatcher
{
    internal static async ValueTask GetLk(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseLkIn>();
        var result = await d.Fs.GetLkAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), a.Owner, ToLock(a.Lk), r.CancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out var lk)) { r.ReplyError(result.Error); return; }
        r.Reply(new FuseFileLock { Start = lk.Start, End = lk.End, Type = (uint)lk.Type, Pid = (uint)lk.Pid });
    }

    internal static async ValueTask SetLk(FuseDispatcher d, FuseRequest r)
    {
        var a = r.Arg<FuseLkIn>();
        bool wait = r.Opcode == FuseOpcode.SetLkW;
        bool flock = (a.LkFlags & FuseLkIn.FlagFlock) != 0;
        Answer(r, await d.Fs.SetLkAsync(r.Context(), r.NodeId, new FileHandle(a.Fh), a.Owner, ToLock(a.Lk), wait, flock, r.CancellationToken).ConfigureAwait(false));
    }

    private static FileLock ToLock(in FuseFileLock l) => new(l.Start, l.End, (int)l.Type, (int)l.Pid);
}
