using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Security;

/// <summary>
/// A fresh Linux tmpfs on a temporary directory: the oracle the FUSE file systems are compared with. Mounted
/// nosuid,nodev like <see cref="TempMount"/>'s FUSE mounts, with the root directory's mode and owner given, so
/// both trees start alike. Dispose always unmounts (lazily if still busy) and removes the directory.
/// </summary>
public sealed class TempTmpfs : IDisposable
{
    private TempTmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>
    /// Whether tmpfs takes user.* extended attributes (Linux 6.6+; before, ENOTSUP): where it does not, the
    /// oracle has no answer to compare a file system's user xattrs with.
    /// </summary>
    public static bool HasUserXattrs => UserXattrs.Value;

    private static readonly Lazy<bool> UserXattrs = new(() =>
    {
        using var tmpfs = Create(0x1ed);
        return Run.PythonScript("import os, sys; open(sys.argv[1], 'w').close(); os.setxattr(sys.argv[1], 'user.probe', b'1')",
            System.IO.Path.Combine(tmpfs.Path, "probe")).ExitCode == 0;
    });

    public static TempTmpfs Create(uint rootMode, uint rootUid = 0, uint rootGid = 0)
    {
        string dir = Directory.CreateTempSubdirectory("df-tmpfs-").FullName;
        var mount = Run.Process("mount", "-t", "tmpfs", "-o",
            $"size=64m,nosuid,nodev,mode={Convert.ToString(rootMode, 8)},uid={rootUid},gid={rootGid}", "df-oracle", dir);
        if (mount.ExitCode != 0)
        {
            Directory.Delete(dir);
            throw new Xunit.Sdk.XunitException($"mount -t tmpfs failed: {mount.StdErr}");
        }
        return new TempTmpfs(dir);
    }

    public void Dispose()
    {
        if (Run.Process("umount", Path).ExitCode != 0) Run.Process("umount", "-l", Path);
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
            // Still busy for a moment after a lazy unmount; the empty directory is harmless.
        }
    }
}
