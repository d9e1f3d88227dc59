using System.Runtime.InteropServices;

namespace DirectFuse.Protocol;

[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyPollWakeupOut
{
    public const int Size = 8;
    public ulong Kh;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyInvalInodeOut
{
    public const int Size = 24;
    public ulong Ino;
    public long Off;
    public long Len;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyInvalEntryOut
{
    public const int Size = 16;
    public ulong Parent;
    public uint NameLen;
    public uint Flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyDeleteOut
{
    public const int Size = 24;
    public ulong Parent;
    public ulong Child;
    public uint NameLen;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyStoreOut
{
    public const int Size = 24;
    public ulong NodeId;
    public ulong Offset;
    public uint StoreSize;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyRetrieveOut
{
    public const int Size = 32;
    public ulong NotifyUnique;
    public ulong NodeId;
    public ulong Offset;
    public uint RetrieveSize;
    public uint Padding;
}

/// <summary>The body of a NOTIFY_REPLY request (same size as <c>fuse_write_in</c>); the data follows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyRetrieveIn
{
    public const int Size = 40;
    public ulong Dummy1;
    public ulong Offset;
    public uint RetrieveSize;
    public uint Dummy2;
    public ulong Dummy3;
    public ulong Dummy4;
}
