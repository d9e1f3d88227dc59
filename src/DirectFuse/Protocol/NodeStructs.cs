using System.Runtime.InteropServices;

namespace DirectFuse.Protocol;

[StructLayout(LayoutKind.Sequential)]
internal struct FuseMkNodIn
{
    public const int Size = 16;
    public uint Mode;
    public uint Rdev;
    public uint Umask;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseMkDirIn
{
    public const int Size = 8;
    public uint Mode;
    public uint Umask;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseRenameIn
{
    public const int Size = 8;
    public ulong NewDir;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseRename2In
{
    public const int Size = 16;
    public ulong NewDir;
    public uint Flags;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseLinkIn
{
    public const int Size = 8;
    public ulong OldNodeId;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseAccessIn
{
    public const int Size = 8;
    public uint Mask;
    public uint Padding;
}

/// <summary><c>struct fuse_setxattr_in</c>: 16 bytes with FUSE_SETXATTR_EXT negotiated, 8 without.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseSetXattrIn
{
    public const int Size = 16;
    public const int CompatSize = 8;
    public uint ValueSize;
    public uint Flags;
    public uint SetXattrFlags;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseGetXattrIn
{
    public const int Size = 8;
    public uint BufferSize;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseGetXattrOut
{
    public const int Size = 8;
    public uint ValueSize;
    public uint Padding;
}

/// <summary><c>struct fuse_dirent</c> header (24 bytes); the name follows, padded to 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseDirent
{
    public const int Size = 24;
    public ulong Ino;
    public ulong Off;
    public uint NameLen;
    public uint Type;
}
