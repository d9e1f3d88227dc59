using System.Runtime.InteropServices;
using System.Text;

namespace DirectFuse.MmapClient;

/// <summary>
/// Reads one command per line from stdin and answers one line on stdout ("ok ...", or "error ERRNO").
/// The tests drive it step by step, so server and client actions interleave exactly as a test wants.
/// Commands: open PATH [ro] | map SIZE [private] | write OFFSET TEXT | read OFFSET LENGTH | pwrite OFFSET TEXT |
/// pread OFFSET LENGTH | truncate SIZE | close | unmap | pid | exit
/// </summary>
internal static unsafe partial class Program
{
    private static int _fd = -1;
    private static byte* _map;
    private static long _mapSize;

    private static int Main()
    {
        Console.Out.Flush();
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            string reply;
            try
            {
                reply = Execute(line.Split(' ', 3));
            }
            catch (Exception e)
            {
                reply = "exception " + e.Message.Replace('\n', ' ');
            }
            Console.WriteLine(reply);
            Console.Out.Flush();
            if (reply == "bye") return 0;
        }
        return 0;
    }

    private static string Execute(string[] a)
    {
        switch (a[0])
        {
            case "open":
                _fd = open(a[1], a.Length > 2 && a[2] == "ro" ? 0 : 2, 0);
                return _fd < 0 ? Error() : "ok";
            case "map":
            {
                long size = long.Parse(a[1]);
                int flags = a.Length > 2 && a[2] == "private" ? 2 : 1; // MAP_PRIVATE : MAP_SHARED
                nint p = mmap(0, (nint)size, 3, flags, _fd, 0);
                if (p == -1) return Error();
                _map = (byte*)p;
                _mapSize = size;
                return "ok";
            }
            case "write":
            {
                var bytes = Encoding.UTF8.GetBytes(a[2]);
                bytes.CopyTo(new Span<byte>(_map + long.Parse(a[1]), bytes.Length));
                return "ok";
            }
            case "read":
                return "ok " + Encoding.UTF8.GetString(new ReadOnlySpan<byte>(_map + long.Parse(a[1]), int.Parse(a[2]))).TrimEnd('\0');
            case "pwrite":
            {
                var bytes = Encoding.UTF8.GetBytes(a[2]);
                fixed (byte* b = bytes)
                {
                    nint n = pwrite(_fd, b, bytes.Length, long.Parse(a[1]));
                    return n < 0 ? Error() : "ok " + n;
                }
            }
            case "pread":
            {
                var buffer = new byte[int.Parse(a[2])];
                fixed (byte* b = buffer)
                {
                    nint n = pread(_fd, b, buffer.Length, long.Parse(a[1]));
                    return n < 0 ? Error() : "ok " + Encoding.UTF8.GetString(buffer, 0, (int)n).TrimEnd('\0');
                }
            }
            case "truncate":
                return ftruncate(_fd, long.Parse(a[1])) == 0 ? "ok" : Error();
            case "close":
                return close(_fd) == 0 ? "ok" : Error();
            case "unmap":
                return munmap((nint)_map, (nint)_mapSize) == 0 ? "ok" : Error();
            case "pid":
                return "ok " + Environment.ProcessId;
            case "exit":
                return "bye";
            default:
                return "unknown command " + a[0];
        }
    }

    private static string Error() => "error " + Marshal.GetLastPInvokeError();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint addr, nint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pwrite(int fd, byte* buf, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pread(int fd, byte* buf, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ftruncate(int fd, long length);
}
