using System.Runtime.InteropServices;

namespace DirectFuse.Cli.Interop;

/// <summary>The system calls the command needs beyond .NET's: fds, pipes, statx and process spawning.</summary>
internal static unsafe partial class Native
{
    private const string Lib = "libc";

    public const int O_RDONLY = 0, O_RDWR = 2, O_CLOEXEC = 0x80000;
    public const int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1, F_DUPFD_CLOEXEC = 1030;
    public const int AT_EMPTY_PATH = 0x1000;
    public const uint STATX_TYPE = 1, STATX_INO = 0x100;
    public const short POLLIN = 1;
    public const int EINTR = 4, ECHILD = 10, EAGAIN = 11;
    public const int SIGKILL = 9, SIGTERM = 15;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup2(int oldFd, int newFd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int kill(int pid, int signal);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>Writes all of <paramref name="data"/> (retrying short writes and EINTR); false on any other error.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, p + done, data.Length - done);
                if (n < 0 && LastErrno == EINTR) continue;
                if (n <= 0) return false;
                done += (int)n;
            }
        }
        return true;
    }

    /// <summary>
    /// The device (as a dev_t, glibc's encoding) and inode of open file <paramref name="fd"/>, through statx, whose
    /// layout is the same on every architecture; null if it cannot be read.
    /// </summary>
    public static (ulong Device, ulong Inode)? DeviceAndInode(int fd)
    {
        byte* buffer = stackalloc byte[256]; // struct statx
        if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, buffer) != 0) return null;
        ulong inode = *(ulong*)(buffer + 32);
        uint major = *(uint*)(buffer + 136), minor = *(uint*)(buffer + 140);
        ulong device = ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8)
            | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
        return (device, inode);
    }

    /// <summary>The file type bits (S_IFMT) of open file <paramref name="fd"/>, or 0 if it is not open.</summary>
    public static uint FileType(int fd)
    {
        byte* buffer = stackalloc byte[256];
        if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, buffer) != 0) return 0;
        return *(ushort*)(buffer + 28) & 0xf000u;
    }

    public const uint S_IFIFO = 0x1000;

    /// <summary>This process's open descriptors above standard error, as /proc/self/fd lists them (none if unreadable).</summary>
    public static IEnumerable<int> DescriptorsAboveStandardError()
    {
        string[] entries;
        try
        {
            entries = Directory.GetFiles("/proc/self/fd");
        }
        catch (IOException)
        {
            return [];
        }
        return entries.Select(e => int.TryParse(Path.GetFileName(e), out int fd) ? fd : -1).Where(fd => fd > 2);
    }
}
