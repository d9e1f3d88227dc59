using DirectFuse.DirectMmap;
using DirectFuse.Examples.MemFs;
using DirectFuse.Examples.Shmfs;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Security;

/// <summary>
/// A name root has just looked up stays in the kernel's dentry cache for the entry timeout. Without
/// default_permissions the kernel then walks that path for any other user without asking the server, so the
/// search permission of a 0700 directory has to hold some other way. Nobody, right after root, must get what
/// tmpfs gives: EACCES for a file in root's private directory.
/// </summary>
public sealed class CachedLookupTests
{
    /// <summary>argv[1]: root of the tree. As root: build private/f, look it up, and at once let nobody try it.</summary>
    private const string Script = """
        import os, subprocess, sys
        R = sys.argv[1]
        d, f = os.path.join(R, 'private'), os.path.join(R, 'private', 'f')
        os.mkdir(d, 0o700)
        with open(f, 'w') as fh: fh.write('root only')
        os.chmod(f, 0o644)
        os.stat(f)   # root's lookup: the name is now cached
        nobody = r'''
        import errno, os, sys
        for name, fn in (('stat', lambda: os.stat(sys.argv[1])), ('read', lambda: open(sys.argv[1]).read())):
            try: fn(); print(f'{name}: OK')
            except OSError as e: print(f'{name}: {errno.errorcode[e.errno]}')
        '''.replace('\n        ', '\n')
        r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', sys.executable, '-c', nobody, f],
                           capture_output=True, text=True, cwd='/')
        sys.stdout.write(r.stdout + r.stderr)
        """;

    [Theory]
    [InlineData("memfs", true)]
    [InlineData("memfs", false)]
    [InlineData("shmfs", true)]
    [InlineData("shmfs", false)]
    public void Nobody_right_after_root_cannot_reach_into_roots_private_directory(string fileSystem, bool defaultPermissions)
    {
        string expected, actual;
        using (var tmpfs = TempTmpfs.Create(HostileScenario.RootMode))
            expected = Run.PythonScript(Script, tmpfs.Path).EnsureSuccess("tmpfs").StdOut;
        LowLevelFileSystem fs = fileSystem == "memfs"
            ? new MemFileSystem(new MemFileSystemOptions { RootMode = HostileScenario.RootMode, RootUid = 0, RootGid = 0 })
            : new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64L << 20 });
        using (var m = TempMount.Create(fs, new FuseSessionOptions { Mount = new MountOptions { AllowOther = true, DefaultPermissions = defaultPermissions, Subtype = "test" } }))
            actual = Run.PythonScript(Script, m.Path).EnsureSuccess("fuse").StdOut;
        Assert.Equal("stat: EACCES\nread: EACCES\n", expected);   // the oracle itself, so a broken script cannot pass
        Assert.True(expected == actual, $"{fileSystem} ({(defaultPermissions ? "" : "no ")}default_permissions): tmpfs:\n{expected}fuse:\n{actual}");
    }
}
