using DirectFuse.Protocol;

namespace DirectFuse.Session;

/// <summary>
/// The server side of the <c>allow_root</c> mount option: the kernel is told <c>allow_other</c>, and the session
/// refuses with EACCES the requests of every user but the mount's owner and root, as libfuse does for it.
/// </summary>
/// <remarks>
/// The exceptions are libfuse's: requests on a file or directory that is already open (READ, WRITE, FSYNC,
/// RELEASE, READDIR, READDIRPLUS, FSYNCDIR, RELEASEDIR) may carry another uid than the opener's (an open file
/// passed to another process, write-back by a kernel thread), and the opener was checked at OPEN. Requests that
/// take no reply (FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY) are never refused: an error reply to them would
/// be an answer the kernel does not expect, and refusing a FORGET would leak the node.
/// </remarks>
internal static class OwnerOnlyAccess
{
    /// <summary>True when a request of <paramref name="uid"/> must be refused on a mount owned by <paramref name="owner"/>.</summary>
    public static bool Refuses(uint uid, uint owner, FuseOpcode opcode, bool hasReply) =>
        hasReply && uid != owner && uid != 0 && !IsExempt(opcode);

    private static bool IsExempt(FuseOpcode opcode) => opcode is FuseOpcode.Init or FuseOpcode.Destroy
        or FuseOpcode.Read or FuseOpcode.Write or FuseOpcode.Fsync or FuseOpcode.Release
        or FuseOpcode.ReadDir or FuseOpcode.ReadDirPlus or FuseOpcode.FsyncDir or FuseOpcode.ReleaseDir;
}
