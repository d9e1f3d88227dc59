using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Loopback;

/// <summary>A source directory's mtime and ctime: any entry added, removed or renamed changes both.</summary>
internal readonly record struct ListingStamp(long MtimeSeconds, uint MtimeNanoseconds, long CtimeSeconds, uint CtimeNanoseconds)
{
    public bool IsKnown => this != default;
}

// Directory listings kept in the kernel (FOPEN_CACHE_DIR), judged against the source directory at every OPENDIR.
//
// With FOPEN_CACHE_DIR the kernel stores the entries of a listing in the directory's page cache and serves later
// getdents64 calls from there; FOPEN_KEEP_CACHE on the next OPENDIR lets it keep them, without it the kernel
// drops them and asks again. The kernel alone notices changes made through this mount (it bumps the directory's
// version) but not changes made to the source behind it, so the server keeps the cache only while the source
// directory's mtime and ctime are those it saw at the previous OPENDIR. Reading them with statx marks the inode
// as queried, so on kernels with multigrain timestamps (6.13+: ext4, XFS, btrfs, tmpfs) the next change gets a
// fresh fine-grained stamp even within the same clock tick.
public sealed unsafe partial class LoopbackFileSystem
{
    private long _servedListingRequests;

    /// <summary>
    /// Whether listings are kept in the kernel: asked for, and the kernel has multigrain timestamps (6.13+).
    /// Before that a change within the same clock tick as the last OPENDIR's statx leaves mtime and ctime as they
    /// were, and a stale listing was seen on 6.12.
    /// </summary>
    private bool CachesListings => _options.CacheDirectoryListings && KernelRelease.AtLeast(6, 13);

    /// <summary>READDIR and READDIRPLUS requests the server answered (none for a listing the kernel had cached).</summary>
    public long ServedListingRequests => Interlocked.Read(ref _servedListingRequests);

    /// <summary>The OPENDIR reply flags for <paramref name="dir"/>, whose source directory is open as <paramref name="fd"/>.</summary>
    private OpenReplyFlags ListingCacheFlags(Inode dir, int fd)
    {
        if (!CachesListings) return OpenReplyFlags.None;
        NativeMethods.Statx st;
        if (NativeMethods.statx(fd, EmptyPath, NativeMethods.AT_EMPTY_PATH, NativeMethods.STATX_MTIME | NativeMethods.STATX_CTIME, &st) < 0
            || (st.Mask & (NativeMethods.STATX_MTIME | NativeMethods.STATX_CTIME)) != (NativeMethods.STATX_MTIME | NativeMethods.STATX_CTIME))
            return OpenReplyFlags.None; // Cannot tell whether it changed: every listing goes to the source.
        var now = new ListingStamp(st.Mtime.Seconds, st.Mtime.Nanoseconds, st.Ctime.Seconds, st.Ctime.Nanoseconds);
        lock (dir)
        {
            bool unchanged = dir.LastListingStamp.IsKnown && dir.LastListingStamp == now;
            dir.LastListingStamp = now;
            return DecideListingCache(unchanged, ref dir.ListingChangesInARow);
        }
    }

    /// <summary>
    /// The OPENDIR flags for a directory found <paramref name="unchanged"/> (or not) since the previous OPENDIR,
    /// counting the changes found in a row in <paramref name="changesInARow"/>.
    /// </summary>
    /// <remarks>
    /// Unchanged: keep what the kernel cached (if it has nothing yet, this listing fills it). Changed, or never
    /// seen: without KEEP_CACHE the kernel drops its copy; with CACHE_DIR it caches this listing anew, and a change
    /// racing with that fill is caught by the next OPENDIR, whose stamp then differs. Changed again right after a
    /// change: the directory is changing between listings, so filling a cache that the next change throws away
    /// only costs (about a fifth more per listing, measured on 10 000 entries); list it plainly until it is
    /// found unchanged.
    /// </remarks>
    internal static OpenReplyFlags DecideListingCache(bool unchanged, ref int changesInARow)
    {
        if (unchanged)
        {
            changesInARow = 0;
            return OpenReplyFlags.CacheDir | OpenReplyFlags.KeepCache;
        }
        if (changesInARow < int.MaxValue) changesInARow++;
        return changesInARow == 1 ? OpenReplyFlags.CacheDir : OpenReplyFlags.None;
    }
}
