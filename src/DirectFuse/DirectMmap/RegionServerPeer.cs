using DirectFuse.Interop;

namespace DirectFuse.DirectMmap;

/// <summary>Whom a <c>regions</c> client believes: the process that serves the mount, as far as the kernel can tell.</summary>
internal static class RegionServerPeer
{
    /// <summary>Why a socket's listener cannot be the server of a mount.</summary>
    public enum Rejection { None, NoCredentials, OtherUser, NoFuseDevice }

    /// <summary>
    /// Checks the listener behind a connected socket: it must run as the mount's owner
    /// (<paramref name="ownerUid"/>) or root, and if its open files can be read, one of them must be /dev/fuse.
    /// The uid is the check that matters: names are free for all, but only root and the owner can listen as
    /// themselves. The /dev/fuse check narrows the owner's own processes down to FUSE servers where /proc allows.
    /// </summary>
    public static Rejection Check(PeerCredentials? peer, uint ownerUid)
    {
        if (peer is not { } p) return Rejection.NoCredentials;
        if (p.Uid != 0 && p.Uid != ownerUid) return Rejection.OtherUser;
        return HoldsFuseDevice(p.Pid) == false ? Rejection.NoFuseDevice : Rejection.None;
    }

    /// <summary>True if process <paramref name="pid"/> has /dev/fuse open, false if not or gone, null if its fds cannot be read.</summary>
    private static bool? HoldsFuseDevice(int pid)
    {
        if (pid <= 0) return null; // in another pid namespace: SO_PEERCRED cannot name it
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                if (LinkTarget(fd) == "/dev/fuse") return true;
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return null; // another user's process, or not dumpable: the uid check stands alone
        }
        catch (IOException)
        {
            return false; // the listener is gone: its socket now lives in another process (fork, SCM_RIGHTS)
        }
    }

    private static string? LinkTarget(string fdLink)
    {
        try
        {
            return new FileInfo(fdLink).LinkTarget;
        }
        catch (IOException)
        {
            return null; // closed while we looked
        }
    }
}
