using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DirectFuse.LowLevel;
using Microsoft.Win32.SafeHandles;

namespace DirectFuse.Examples.Loopback;

/// <summary>
/// Mirrors a source directory, in the manner of libfuse's passthrough_ll: every inode the kernel knows is an
/// O_PATH descriptor on the source, and every operation is a *at() call relative to it, so renames in the
/// source never confuse the mirror. With passthrough the kernel reads, writes and maps the source files itself.
/// </summary>
/// <remarks>
/// The server answers as root would unless the mount uses <c>default_permissions</c> (then the kernel checks
/// the modes first); with <c>allow_other</c> that option is what keeps users out of each other's files.
/// </remarks>
public sealed unsafe partial class LoopbackFileSystem : LowLevelFileSystem
{
    /// <summary>An empty, zero-terminated path for the AT_EMPTY_PATH calls.</summary>
    internal static readonly byte* EmptyPath = (byte*)NativeMemory.AllocZeroed(1);

    private readonly LoopbackOptions _options;
    private readonly InodeTable _inodes;
    private readonly uint _serverUmask;
    private readonly bool _canImpersonate;
    private readonly uint _serverUid, _serverGid;
    private FuseConnection? _connection;
    private volatile bool _passthroughDisabled;
    private volatile string _passthroughReason = "not mounted yet";
    private int _probed;

    public LoopbackFileSystem(string source, LoopbackOptions? options = null)
    {
        _options = options ?? new LoopbackOptions();
        OpenFileCeiling = OpenFileLimit.RaiseToHard();
        Source = Path.GetFullPath(source);
        int fd = OpenPath(Source);
        if (fd < 0) throw new DirectoryNotFoundException($"cannot open source '{Source}': {Errno.Last}");
        NativeMethods.Statx st;
        if (NativeMethods.statx(fd, EmptyPath, NativeMethods.AT_EMPTY_PATH | NativeMethods.AT_SYMLINK_NOFOLLOW, NativeMethods.STATX_BASIC_STATS, &st) < 0
            || !StatMode.IsDirectory(st.Mode))
        {
            NativeMethods.close(fd);
            throw new DirectoryNotFoundException($"source '{Source}' is not a directory");
        }
        int budget = _options.InodeDescriptorBudget ?? (int)Math.Clamp(OpenFileCeiling / 2, 64, int.MaxValue);
        _inodes = new InodeTable(new Inode(1, DevOf(st), st.Ino, fd, StatMode.Directory), Math.Max(1, budget), FileHandles.TryCreate(fd));
        _serverUmask = ReadUmask();
        _serverUid = NativeMethods.geteuid();
        _serverGid = NativeMethods.getegid();
        _canImpersonate = _options.CreateAsCaller && _serverUid == 0;
    }

    /// <summary>
    /// The process's soft RLIMIT_NOFILE after construction raised it to the hard limit: roughly how many inodes
    /// the kernel can hold at once (one O_PATH descriptor each) before lookups answer EMFILE. 0 if unknown.
    /// </summary>
    public ulong OpenFileCeiling { get; }

    /// <summary>How many source inodes the kernel knows now (each one it looked up and has not forgotten).</summary>
    public int KnownInodes => _inodes.Count;

    /// <summary>How many of them keep an O_PATH descriptor open; the rest are kept by file handle (<see cref="LoopbackOptions.InodeDescriptorBudget"/>).</summary>
    public int InodeDescriptors => _inodes.Descriptors;

    /// <summary>The mirrored directory.</summary>
    public string Source { get; }

    public LoopbackOptions Options => _options;

    /// <summary>Inodes the kernel currently holds (with the root).</summary>
    public int InodeCount => _inodes.Count;

    /// <summary>
    /// True when opens of regular files are answered with passthrough. Known after INIT; the first call after
    /// that registers a throw-away backing file to find out whether the kernel lets this process do so.
    /// </summary>
    public bool PassthroughActive
    {
        get
        {
            var connection = _connection;
            if (connection is null || !connection.Has(InitFlags.Passthrough) || _passthroughDisabled) return false;
            if (Interlocked.Exchange(ref _probed, 1) == 0) ProbePassthrough(connection);
            return !_passthroughDisabled;
        }
    }

    /// <summary>One line for a user: what is mirrored and whether passthrough is in use, and why (not).</summary>
    public string Describe() =>
        $"loopback of {Source}: passthrough {(PassthroughActive ? "on" : "off")} ({_passthroughReason}), " +
        (_options.ElideNoOpFlush ? "no FLUSH for files on ext4/XFS/tmpfs/ramfs" : "FLUSH on every close") + ", " +
        (CachesListings ? "listings cached by the kernel while the source directory is unchanged"
            : _options.CacheDirectoryListings ? "every listing read from the source (a kernel before 6.13 cannot see every change by timestamps)"
            : "every listing read from the source") + ", " +
        $"open file limit {OpenFileCeiling}";

    /// <summary>OpenAsync passes O_TRUNC on to the source's open(2), which truncates in the same call.</summary>
    public override bool TruncatesOnOpen => true;

    public override void Init(FuseConnection connection)
    {
        _connection = connection;
        // Without HANDLE_KILLPRIV_V2 the kernel clears set-user-ID bits on write itself (with a SETATTR), which
        // matters because our pwrite as root would keep them.
        connection.Want &= ~(InitFlags.HandleKillprivV2 | InitFlags.WritebackCache);
        if (!_options.UsePassthrough) _passthroughReason = "disabled by option";
        else if (!connection.TryRequestPassthrough(out string whyNot, _options.MaxStackDepth)) _passthroughReason = whyNot;
        else _passthroughReason = "reads, writes and mmap go straight to the source files";
    }

    public override void Destroy()
    {
        foreach (var id in _directories.Keys)
            if (_directories.TryRemove(id, out var d)) NativeMethods.close(d.Fd);
        _inodes.Clear();
        _inodes.Handles?.Dispose();
    }

    private void ProbePassthrough(FuseConnection connection)
    {
        int fd;
        fixed (byte* name = "directfuse-probe\0"u8) fd = NativeMethods.memfd_create(name, NativeMethods.MFD_CLOEXEC);
        if (fd < 0) return; // Cannot tell; the first real open decides.
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            connection.OpenBackingFile(handle).Dispose();
        }
        catch (FuseException e)
        {
            if (e.Errno == Errno.EPERM) DisablePassthrough(e.Errno);
        }
    }

    private void DisablePassthrough(Errno errno)
    {
        _passthroughDisabled = true;
        _passthroughReason = $"the kernel refused a backing file ({errno}); the server serves reads and writes";
    }

    // ---- Helpers shared by the partial files ---------------------------------------------------------------

    private Inode InodeOf(NodeId node) => _inodes.Get(node.Value) ?? throw new FuseException(Errno.ESTALE, $"unknown node {node}");

    /// <summary>LOOKUP's work: open <paramref name="name"/> (zero-terminated) under the parent and count the reference.</summary>
    // No zeroing of the 256-byte statx buffer, which the kernel fills: a memset of it was 5 % of a LOOKUP's instructions.
    [SkipLocalsInit]
    private Result<EntryReply> DoLookup(Inode parent, byte* name)
    {
        int fd;
        Errno errno = Errno.Ok;
        using (var dir = parent.Path())
        {
            fd = NativeMethods.openat(dir.Fd, name, NativeMethods.O_PATH | NativeMethods.O_NOFOLLOW | NativeMethods.O_CLOEXEC, 0);
            if (fd < 0) errno = Errno.Last; // before closing a reopened parent overwrites it
        }
        if (fd < 0) return errno;
        NativeMethods.Statx st;
        if (NativeMethods.statx(fd, EmptyPath, NativeMethods.AT_EMPTY_PATH | NativeMethods.AT_SYMLINK_NOFOLLOW, NativeMethods.STATX_BASIC_STATS, &st) < 0)
        {
            errno = Errno.Last;
            NativeMethods.close(fd);
            return errno;
        }
        // Past the descriptor budget a handle stands in for the descriptor (fetched only then: one more call).
        byte[]? handle = _inodes.WantsHandles ? _inodes.Handles!.HandleOf(fd) : null;
        var inode = _inodes.AddLookup(DevOf(st), st.Ino, fd, st.Mode & StatMode.TypeMask, handle);
        // Filled in place: through the constructor the attributes were copied twice more (callgrind: a memmove each).
        var reply = new EntryReply { NodeId = new NodeId(inode.Id), EntryTimeout = _options.EntryTimeout, AttrTimeout = _options.AttrTimeout };
        FillAttr(ref reply.Attr, st);
        return reply;
    }

    [SkipLocalsInit] // the name is copied over the whole buffer
    private Result<EntryReply> DoLookup(Inode parent, FileName name)
    {
        Span<byte> z = stackalloc byte[name.Length + 1];
        TerminateEntry(name, z);
        fixed (byte* p = z) return DoLookup(parent, p);
    }

    private static Result<FileAttr> Stat(Inode inode)
    {
        using var path = inode.Path();
        return Stat(path.Fd);
    }

    [SkipLocalsInit] // the kernel fills the statx buffer
    private static Result<FileAttr> Stat(int fd)
    {
        NativeMethods.Statx st;
        if (NativeMethods.statx(fd, EmptyPath, NativeMethods.AT_EMPTY_PATH | NativeMethods.AT_SYMLINK_NOFOLLOW, NativeMethods.STATX_BASIC_STATS, &st) < 0)
            return Errno.Last;
        return ToAttr(st);
    }

    private static FileAttr ToAttr(in NativeMethods.Statx st)
    {
        FileAttr attr = default;
        FillAttr(ref attr, st);
        return attr;
    }

    private static void FillAttr(ref FileAttr a, in NativeMethods.Statx st)
    {
        a.Ino = st.Ino;
        a.Size = (long)st.Size;
        a.Blocks = (long)st.Blocks;
        a.Atime = new TimeSpec(st.Atime.Seconds, st.Atime.Nanoseconds);
        a.Mtime = new TimeSpec(st.Mtime.Seconds, st.Mtime.Nanoseconds);
        a.Ctime = new TimeSpec(st.Ctime.Seconds, st.Ctime.Nanoseconds);
        a.Mode = st.Mode;
        a.NLink = st.NLink;
        a.Uid = st.Uid;
        a.Gid = st.Gid;
        // The kernel's new_encode_dev(), which is how fuse_attr carries a device number.
        a.Rdev = (st.RdevMinor & 0xff) | (st.RdevMajor << 8) | ((st.RdevMinor & ~0xffu) << 12);
        a.BlkSize = st.BlkSize;
    }

    private static ulong DevOf(in NativeMethods.Statx st) => ((ulong)st.DevMajor << 32) | st.DevMinor;

    /// <summary>
    /// <see cref="Terminate"/> for a name that goes to a *at() call as one entry of a directory. The engine
    /// rejects any other, but a '/' here would let "../x" act outside the source, so the loopback checks again.
    /// </summary>
    private static void TerminateEntry(FileName name, Span<byte> destination)
    {
        if (name.Length > FileName.MaxLength) throw new FuseException(Errno.ENAMETOOLONG);
        if (name.Length == 0 || name.Span.Contains((byte)'/')) throw new FuseException(Errno.EINVAL, $"'{name}' is not one directory entry");
        Terminate(name, destination);
    }

    /// <summary>Copies a request name into <paramref name="destination"/> (one byte longer) with a terminating zero.</summary>
    private static void Terminate(FileName name, Span<byte> destination)
    {
        name.Span.CopyTo(destination);
        destination[name.Length] = 0;
    }

    /// <summary>Size of a buffer for <see cref="ProcPath"/>.</summary>
    private const int ProcPathSize = 32;

    /// <summary>"/proc/self/fd/N": reopens an O_PATH descriptor or reaches calls that have no *at() form.</summary>
    private static void ProcPath(int fd, Span<byte> destination)
    {
        ReadOnlySpan<byte> prefix = "/proc/self/fd/"u8;
        prefix.CopyTo(destination);
        fd.TryFormat(destination[prefix.Length..], out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
        destination[prefix.Length + written] = 0;
    }

    /// <summary>Opens an O_PATH descriptor of <paramref name="inode"/> again as a real file.</summary>
    private static int Reopen(Inode inode, int flags)
    {
        Span<byte> path = stackalloc byte[ProcPathSize];
        using var descriptor = inode.Path();
        ProcPath(descriptor.Fd, path);
        // O_NOFOLLOW would refuse the /proc magic link itself; the kernel already resolved the name.
        fixed (byte* p = path) return NativeMethods.openat(NativeMethods.AT_FDCWD, p, (flags & ~(NativeMethods.O_NOFOLLOW | NativeMethods.O_CREAT | NativeMethods.O_EXCL | NativeMethods.O_NOCTTY)) | NativeMethods.O_CLOEXEC, 0);
    }

    private static int OpenPath(string path)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        Span<byte> z = max <= 4096 ? stackalloc byte[max] : new byte[max];
        int n = System.Text.Encoding.UTF8.GetBytes(path, z);
        z[n] = 0;
        fixed (byte* p = z) return NativeMethods.openat(NativeMethods.AT_FDCWD, p, NativeMethods.O_PATH | NativeMethods.O_DIRECTORY | NativeMethods.O_CLOEXEC, 0);
    }

    /// <summary>
    /// The kernel applied the caller's umask already; ours would take away more (a group-writable file of a
    /// caller with umask 002 would come out 0644). The mode bits our umask removes are put back afterwards.
    /// </summary>
    private bool ServerUmaskStrips(uint mode) => (mode & 0x1ff & _serverUmask) != 0;

    private static uint ReadUmask()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                    return Convert.ToUInt32(line[6..].Trim(), 8);
        }
        catch (IOException)
        {
        }
        return 0x12; // 022, the usual default
    }

    /// <summary>
    /// Switches the calling thread's fsuid/fsgid to the caller's for a create-like call, so new nodes belong to
    /// the caller and the source file system checks the caller's access to the directory (and applies set-group-ID
    /// directories). Only the primary group is taken on: supplementary groups are not known from the request.
    /// Handlers that use it complete synchronously, so the thread cannot change in between.
    /// </summary>
    private CallerCredentials AsCaller(in FuseContext context)
    {
        if (!_canImpersonate || (context.Uid == _serverUid && context.Gid == _serverGid)) return default;
        if (context.Uid == uint.MaxValue || context.Gid == uint.MaxValue) return default; // Not mapped into our namespace.
        return new CallerCredentials(context.Uid, context.Gid, _serverUid, _serverGid);
    }

    private readonly struct CallerCredentials : IDisposable
    {
        private readonly bool _active;
        private readonly uint _restoreUid, _restoreGid;

        public CallerCredentials(uint uid, uint gid, uint restoreUid, uint restoreGid)
        {
            _active = true;
            _restoreUid = restoreUid;
            _restoreGid = restoreGid;
            // Group first, and back in the opposite order: the pair is then never half switched while a call
            // could see it.
            NativeMethods.setfsgid(gid);
            NativeMethods.setfsuid(uid);
        }

        public void Dispose()
        {
            if (!_active) return;
            NativeMethods.setfsuid(_restoreUid);
            NativeMethods.setfsgid(_restoreGid);
        }
    }
}
