using System.Runtime.InteropServices;

namespace DirectFuse.Bench;

internal static unsafe partial class Native
{
    public const int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc")]
    public static partial int gettid();

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nint Len;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint writev(int fd, IoVec* iov, int count);

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    public const int CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_gettime(int clock, Timespec* ts);

    /// <summary>CPU time of this process (all threads), in seconds.</summary>
    public static double ProcessCpuSeconds()
    {
        Timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return ts.Sec + ts.Nsec / 1e9;
    }
}
