using System.Runtime.InteropServices;

namespace DirectFuse.Transport.IoUring;

/// <summary>
/// The io_uring system calls and the parts of &lt;linux/io_uring.h&gt; the FUSE transport uses. glibc has no
/// wrappers, so they go through syscall(2); the numbers 425–427 are the same on every architecture.
/// </summary>
internal static unsafe partial class IoUringNative
{
    public const long SysSetup = 425, SysEnter = 426, SysRegister = 427;

    public const uint SetupCqSize = 1u << 3, SetupSubmitAll = 1u << 7, SetupCoopTaskrun = 1u << 8,
        SetupSqe128 = 1u << 10, SetupSingleIssuer = 1u << 12, SetupDeferTaskrun = 1u << 13;
    public const uint FeatSingleMmap = 1u << 0;
    public const uint EnterGetEvents = 1u << 0;
    public const uint RegisterFiles = 2;
    public const long OffSqRing = 0, OffCqRing = 0x8000000, OffSqes = 0x10000000;
    public const byte OpRead = 22, OpUringCmd = 46;
    public const byte SqeFixedFile = 1;

    /// <summary>Size of one submission entry with IORING_SETUP_SQE128 (the FUSE commands need the larger command area).</summary>
    public const int Sqe128Size = 128;
    /// <summary>Where the command area (<c>sqe->cmd</c>) starts; 80 bytes long in a 128-byte entry.</summary>
    public const int SqeCmdOffset = 48;

    [StructLayout(LayoutKind.Sequential)]
    public struct SqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;
        public ulong UserAddr;
    }

    /// <summary>struct io_uring_params (120 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Params
    {
        public uint SqEntries, CqEntries, Flags, SqThreadCpu, SqThreadIdle, Features, WqFd, Resv0, Resv1, Resv2;
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }

    /// <summary>struct io_uring_cqe without the CQE32 extension.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Cqe
    {
        public ulong UserData;
        public int Res;
        public uint Flags;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall6(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    /// <summary>io_uring_setup(2): the ring's fd, or -errno.</summary>
    public static int Setup(uint entries, Params* p)
    {
        long rc = syscall6(SysSetup, (nint)entries, (nint)p, 0, 0, 0, 0);
        return rc >= 0 ? (int)rc : -Marshal.GetLastPInvokeError();
    }

    /// <summary>io_uring_enter(2) without a signal mask: the number of entries submitted, or -errno.</summary>
    public static int Enter(int fd, uint toSubmit, uint minComplete, uint flags)
    {
        long rc = syscall6(SysEnter, fd, (nint)toSubmit, (nint)minComplete, (nint)flags, 0, 0);
        return rc >= 0 ? (int)rc : -Marshal.GetLastPInvokeError();
    }

    /// <summary>io_uring_register(2): 0 (or a count), or -errno.</summary>
    public static int Register(int fd, uint opcode, void* arg, uint count)
    {
        long rc = syscall6(SysRegister, fd, (nint)opcode, (nint)arg, (nint)count, 0, 0);
        return rc >= 0 ? (int)rc : -Marshal.GetLastPInvokeError();
    }
}
