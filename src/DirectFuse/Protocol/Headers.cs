using System.Runtime.InteropServices;

namespace DirectFuse.Protocol;

/// <summary><c>struct fuse_in_header</c> (40 bytes): precedes every request.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseInHeader
{
    public const int Size = 40;
    public uint Len;
    public FuseOpcode Opcode;
    public ulong Unique;
    public ulong NodeId;
    public uint Uid;
    public uint Gid;
    public uint Pid;
    /// <summary>Length of the request extensions at the end of the request, in units of 8 bytes.</summary>
    public ushort TotalExtLen;
    public ushort Padding;
}

/// <summary><c>struct fuse_out_header</c> (16 bytes): precedes every reply and notification.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseOutHeader
{
    public const int Size = 16;
    public uint Len;
    /// <summary>Negative errno for a reply; the notify code for a notification.</summary>
    public int Error;
    public ulong Unique;
}

/// <summary><c>struct fuse_ext_header</c>: one request extension.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseExtHeader
{
    public const int Size = 8;
    public uint ExtSize;
    public uint Type;

    /// <summary><c>FUSE_EXT_GROUPS</c>: supplementary groups of the caller.</summary>
    public const uint TypeGroups = 32;
    /// <summary>Types up to <c>FUSE_MAX_NR_SECCTX</c> (31) are security contexts.</summary>
    public const uint MaxSecurityContext = 31;
}
