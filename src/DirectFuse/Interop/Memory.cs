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

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    public const int AT_EMPTY_PATH = 0x1000;
    public const uint STATX_BLOCKS = 0x400;

    /// <summary>Allocated bytes of an open file (st_blocks × 512), through statx, whose layout is the same on every architecture.</summary>
    public static long AllocatedBytes(int fd)
    {
        byte* buffer = stackalloc byte[256]; // struct statx
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BLOCKS, buffer) != 0) return 0;
        return *(long*)(buffer + 48) * 512; // stx_blocks
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup(int fd);

    public const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
}
