using System.Runtime.InteropServices;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// The file type of a path, following symlinks as mount(2) does. File.Exists cannot tell a regular file from
/// a device, FIFO or socket, which is the difference the device mount point check needs.
/// </summary>
internal static partial class PathKind
{
    private const int ENOENT = 2, ENOTDIR = 20;
    private const uint S_IFMT = 0xf000, S_IFDIR = 0x4000, S_IFREG = 0x8000;
    private const uint STATX_TYPE = 1;
    private const int AT_FDCWD = -100;
    /// <summary>struct statx is 256 bytes; stx_mode is the 16-bit field at offset 28 on every architecture.</summary>
    private const int StatxSize = 256, ModeOffset = 28;

    public enum Kind { Missing, Directory, RegularFile, Other }

    public static Kind Of(string path)
    {
        var buffer = new byte[StatxSize];
        if (statx(AT_FDCWD, path, 0, STATX_TYPE, buffer) < 0)
            // A missing parent, or a parent that is no directory, is a missing path for the user too.
            return Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR ? Kind.Missing : Kind.Other;
        uint type = BitConverter.ToUInt16(buffer, ModeOffset) & S_IFMT;
        return type switch
        {
            S_IFDIR => Kind.Directory,
            S_IFREG => Kind.RegularFile,
            _ => Kind.Other,
        };
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, byte[] buffer);
}
