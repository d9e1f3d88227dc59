using System.Runtime.InteropServices;

namespace DirectFuse.Protocol;

/// <summary><c>struct fuse_attr</c> (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseAttr
{
    public const int Size = 88;
    public ulong Ino;
    public ulong FileSize;
    public ulong Blocks;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public uint Rdev;
    public uint BlkSize;
    public uint Flags;
}

/// <summary><c>struct fuse_entry_out</c> (128 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseEntryOut
{
    public const int Size = 128;
    public ulong NodeId;
    public ulong Generation;
    public ulong EntryValid;
    public ulong AttrValid;
    public uint EntryValidNsec;
    public uint AttrValidNsec;
    public FuseAttr Attr;
}

/// <summary><c>struct fuse_attr_out</c> (104 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseAttrOut
{
    public const int Size = 104;
    public ulong AttrValid;
    public uint AttrValidNsec;
    public uint Dummy;
    public FuseAttr Attr;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseGetAttrIn
{
    public const int Size = 16;
    public const uint FlagFh = 1;
    public uint GetAttrFlags;
    public uint Dummy;
    public ulong Fh;
}

/// <summary><c>struct fuse_setattr_in</c> (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseSetAttrIn
{
    public const int Size = 88;
    public uint Valid;
    public uint Padding;
    public ulong Fh;
    public ulong FileSize;
    public ulong LockOwner;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Unused4;
    public uint Uid;
    public uint Gid;
    public uint Unused5;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseForgetIn
{
    public const int Size = 8;
    public ulong NLookup;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseForgetOne
{
    public const int Size = 16;
    public ulong NodeId;
    public ulong NLookup;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseBatchForgetIn
{
    public const int Size = 8;
    public uint Count;
    public uint Dummy;
}

/// <summary><c>struct fuse_kstatfs</c> (80 bytes), also <c>fuse_statfs_out</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseKStatFs
{
    public const int Size = 80;
    public ulong Blocks;
    public ulong BFree;
    public ulong BAvail;
    public ulong Files;
    public ulong FFree;
    public uint BSize;
    public uint NameLen;
    public uint FrSize;
    public uint Padding;
    public uint Spare0, Spare1, Spare2, Spare3, Spare4, Spare5;
}
