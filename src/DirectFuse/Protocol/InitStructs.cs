using System.Runtime.InteropServices;

namespace DirectFuse.Protocol;

/// <summary>
/// <c>struct fuse_init_in</c>: 64 bytes since 7.36; older kernels send the first 16 bytes only
/// (no <c>flags2</c>).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
internal struct FuseInitIn
{
    public const int Size = 64;
    public const int CompatSize = 16;
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public uint Flags2;
}

/// <summary><c>struct fuse_init_out</c> (64 bytes; kernels before 7.23 want 24).</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
internal struct FuseInitOut
{
    public const int Size = 64;
    public const int Compat22Size = 24;
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public ushort MaxBackground;
    public ushort CongestionThreshold;
    public uint MaxWrite;
    public uint TimeGran;
    public ushort MaxPages;
    public ushort MapAlignment;
    public uint Flags2;
    public uint MaxStackDepth;
    public ushort RequestTimeout;
}

/// <summary><c>struct cuse_init_in</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CuseInitIn
{
    public const int Size = 16;
    public uint Major;
    public uint Minor;
    public uint Unused;
    public uint Flags;
}

/// <summary><c>struct cuse_init_out</c> (72 bytes); the device info strings follow.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
internal struct CuseInitOut
{
    public const int Size = 72;
    public uint Major;
    public uint Minor;
    public uint Unused;
    public uint Flags;
    public uint MaxRead;
    public uint MaxWrite;
    public uint DevMajor;
    public uint DevMinor;
}
