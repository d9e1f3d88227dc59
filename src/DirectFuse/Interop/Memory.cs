using System.Runtime.InteropServices;

namespace DirectFuse.Interop;

/// <summary>Shared-memory system calls: memfd, seals, mappings, residency.</summary>
internal static unsafe partial class Libc
{
    public const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    public const int F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
    public const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;
    public const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public static readonly nint MAP_FAILED = -1;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint mmap(nint addr, nint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int munmap(nint addr, nint length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fstat(int fd, Stat* buf);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup(int fd);

    public const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;

    /// <summary>struct stat on x86-64 (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Stat
    {
        public ulong Dev;
        public ulong Ino;
        public ulong NLink;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        public int Pad0;
        public ulong Rdev;
        public long Size;
        public long BlkSize;
        public long Blocks;
        public long Atime, AtimeNsec, Mtime, MtimeNsec, Ctime, CtimeNsec;
        public long Reserved0, Reserved1, Reserved2;
    }
}
