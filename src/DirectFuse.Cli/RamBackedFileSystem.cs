using System.Runtime.InteropServices;

namespace DirectFuse.Cli;

/// <summary>
/// Whether a path lies on a file system that lives in RAM (tmpfs, devtmpfs, ramfs): what a mount hides there
/// is where writers go once an auto_unmount has removed the mount of a dead server, and there every byte they
/// write is memory.
/// </summary>
internal static partial class RamBackedFileSystem
{
    private const long TmpfsMagic = 0x01021994; // tmpfs and devtmpfs (shmem), statfs(2)
    private const long RamfsMagic = unchecked((long)0x858458f6);

    /// <summary>
    /// "tmpfs", "devtmpfs" or "ramfs" when <paramref name="path"/> (or, if it does not exist yet, its directory)
    /// is on such a file system; otherwise null. Asked before mounting, so statfs sees what lies underneath.
    /// </summary>
    public static string? KindOf(string path)
    {
        string probe = File.Exists(path) || Directory.Exists(path) ? path : Path.GetDirectoryName(path) ?? "/";
        long magic = Magic(probe);
        if (magic == RamfsMagic) return "ramfs";
        if (magic != TmpfsMagic) return null;
        // devtmpfs reports tmpfs's magic: only the mount table tells them apart.
        return FileSystemType(probe) == "devtmpfs" ? "devtmpfs" : "tmpfs";
    }

    private static unsafe long Magic(string path)
    {
        // struct statfs is 120 bytes on 64-bit Linux and begins with f_type; the rest is not needed.
        byte* buffer = stackalloc byte[256];
        return statfs(path, buffer) == 0 ? *(long*)buffer : 0;
    }

    /// <summary>The type of the mount whose mount point is the longest prefix of <paramref name="path"/>, from mountinfo.</summary>
    private static string? FileSystemType(string path)
    {
        string full = Path.GetFullPath(path);
        string? best = null, type = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                // id parent major:minor root mountpoint options [optional...] - fstype source superopts
                var fields = line.Split(' ');
                int dash = Array.IndexOf(fields, "-");
                if (fields.Length < 5 || dash < 0 || dash + 1 >= fields.Length) continue;
                string mountPoint = fields[4];
                bool covers = mountPoint == "/" || full == mountPoint || full.StartsWith(mountPoint + "/", StringComparison.Ordinal);
                // Later lines are mounted on top of earlier ones at the same point.
                if (covers && (best is null || mountPoint.Length >= best.Length))
                {
                    best = mountPoint;
                    type = fields[dash + 1];
                }
            }
        }
        catch (IOException)
        {
            return null;
        }
        return type;
    }

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statfs(string path, byte* buffer);
}
