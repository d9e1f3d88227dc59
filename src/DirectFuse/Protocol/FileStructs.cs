using System.Runtime.InteropServices;

namespace DirectFuse.Protocol;

[StructLayout(LayoutKind.Sequential)]
internal struct FuseOpenIn
{
    public const int Size = 8;
    public uint Flags;
    public uint OpenFlags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseCreateIn
{
    public const int Size = 16;
    public uint Flags;
    public uint Mode;
    public uint Umask;
    public uint OpenFlags;
}

/// <summary><c>struct fuse_open_out</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseOpenOut
{
    public const int Size = 16;
    public ulong Fh;
    /// <summary><c>FOPEN_*</c> bits (LowLevel.OpenReplyFlags).</summary>
    public uint OpenFlags;
    /// <summary>With FOPEN_PASSTHROUGH: the id from FUSE_DEV_IOC_BACKING_OPEN.</summary>
    public int BackingId;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseReleaseIn
{
    public const int Size = 24;
    public ulong Fh;
    public uint Flags;
    public uint ReleaseFlags;
    public ulong LockOwner;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseFlushIn
{
    public const int Size = 24;
    public ulong Fh;
    public uint Unused;
    public uint Padding;
    public ulong LockOwner;
}

/// <summary><c>struct fuse_read_in</c> (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseReadIn
{
    public const int Size = 40;
    public ulong Fh;
    public ulong Offset;
    public uint ReadSize;
    public uint ReadFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

/// <summary><c>struct fuse_write_in</c> (40 bytes); the data follows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseWriteIn
{
    public const int Size = 40;
    public ulong Fh;
    public ulong Offset;
    public uint WriteSize;
    public uint WriteFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseWriteOut
{
    public const int Size = 8;
    public uint WriteSize;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseFsyncIn
{
    public const int Size = 16;
    public const uint FlagDataSync = 1;
    public ulong Fh;
    public uint FsyncFlags;
    public uint Padding;
}

/// <summary><c>struct fuse_file_lock</c> (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseFileLock
{
    public const int Size = 24;
    public ulong Start;
    public ulong End;
    public uint Type;
    public uint Pid;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseLkIn
{
    public const int Size = 48;
    public const uint FlagFlock = 1;
    public ulong Fh;
    public ulong Owner;
    public FuseFileLock Lk;
    public uint LkFlags;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseFallocateIn
{
    public const int Size = 32;
    public ulong Fh;
    public ulong Offset;
    public ulong Length;
    public uint Mode;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseLseekIn
{
    public const int Size = 24;
    public ulong Fh;
    public ulong Offset;
    public uint Whence;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseCopyFileRangeIn
{
    public const int Size = 56;
    public ulong FhIn;
    public ulong OffIn;
    public ulong NodeIdOut;
    public ulong FhOut;
    public ulong OffOut;
    public ulong Len;
    public ulong Flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseIoctlIn
{
    public const int Size = 32;
    public ulong Fh;
    public uint Flags;
    public uint Cmd;
    public ulong Arg;
    public uint InSize;
    public uint OutSize;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseIoctlIovec
{
    public const int Size = 16;
    public ulong Base;
    public ulong Len;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseIoctlOut
{
    public const int Size = 16;
    public int Result;
    public uint Flags;
    public uint InIovs;
    public uint OutIovs;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FusePollIn
{
    public const int Size = 24;
    public const uint FlagScheduleNotify = 1;
    public ulong Fh;
    public ulong Kh;
    public uint Flags;
    public uint Events;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseInterruptIn
{
    public const int Size = 8;
    public ulong Unique;
}
