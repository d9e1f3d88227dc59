using System.Runtime.InteropServices;

namespace DirectFuse.Interop;

/// <summary>poll(2) and eventfd(2): waiting on a channel that has no unmount to wake a blocked read.</summary>
internal static unsafe partial class Libc
{
    public const short POLLIN = 1;
    public const int EFD_CLOEXEC = 0x80000;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);
}
