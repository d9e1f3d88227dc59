using DirectFuse.Examples.MemFs;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Examples;

/// <summary>memfs on a real mount, driven by coreutils, python3, fio and stress-ng.</summary>
public sealed class MemFsTests
{
    private static TempMount Mount() => TempMount.Create(new MemFileSystem());

    [Fact] public void Coreutils_tree_copy_move_find_remove() { using var m = Mount(); PosixToolSuite.CoreutilsTree(m.Path); }
    [Fact] public void Hard_links_symlinks_chmod_chown_touch() { using var m = Mount(); PosixToolSuite.LinksAndAttributes(m.Path); }
    [Fact] public void Dd_sparse_files_and_truncate() { using var m = Mount(); PosixToolSuite.DdAndTruncate(m.Path); }
    [Fact] public void Python_os_module() { using var m = Mount(); PosixToolSuite.PythonOs(m.Path); }
    [Fact] public void Extended_attributes() { using var m = Mount(); PosixToolSuite.Xattrs(m.Path); }
    [Fact] public void Fio_verify() { using var m = Mount(); PosixToolSuite.Fio(m.Path); }
    [Fact] public void Stress_ng_filesystem_stressors() { using var m = Mount(); PosixToolSuite.StressNg(m.Path); }

    [Fact]
    public void Rename_noreplace_and_exchange()
    {
        using var m = Mount();
        const string script = """
            import ctypes, os, sys, errno
            libc = ctypes.CDLL(None, use_errno=True)
            AT_FDCWD = -100
            def renameat2(a, b, flags):
                if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
                    e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
            d = sys.argv[1]
            a, b = os.path.join(d, 'a'), os.path.join(d, 'b')
            open(a, 'w').write('A'); open(b, 'w').write('B')
            try:
                renameat2(a, b, 1)  # RENAME_NOREPLACE
                raise SystemExit('NOREPLACE replaced')
            except OSError as e:
                assert e.errno == errno.EEXIST, e
            renameat2(a, b, 2)  # RENAME_EXCHANGE
            assert open(a).read() == 'B' and open(b).read() == 'A'
            print('ok')
            """;
        Assert.Equal("ok", Run.PythonScript(script, m.Path).EnsureSuccess("renameat2").StdOut.Trim());
    }

    [Fact]
    public void Posix_and_flock_locks_between_processes()
    {
        using var m = Mount();
        const string script = """
            import fcntl, os, sys, subprocess
            p = os.path.join(sys.argv[1], 'lock')
            f = open(p, 'w')
            fcntl.lockf(f, fcntl.LOCK_EX)
            other = "import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n  fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)\n  print('got')\nexcept OSError:\n  print('busy')"
            r = subprocess.run([sys.executable, '-c', other, p], capture_output=True, text=True)
            assert r.stdout.strip() == 'busy', r
            fcntl.lockf(f, fcntl.LOCK_UN)
            r = subprocess.run([sys.executable, '-c', other, p], capture_output=True, text=True)
            assert r.stdout.strip() == 'got', r
            g = open(p, 'r')
            fcntl.flock(g, fcntl.LOCK_EX)
            other2 = "import fcntl,sys\nf=open(sys.argv[1])\ntry:\n  fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB)\n  print('got')\nexcept OSError:\n  print('busy')"
            r = subprocess.run([sys.executable, '-c', other2, p], capture_output=True, text=True)
            assert r.stdout.strip() == 'busy', r
            fcntl.flock(g, fcntl.LOCK_UN)
            r = subprocess.run([sys.executable, '-c', other2, p], capture_output=True, text=True)
            assert r.stdout.strip() == 'got', r
            print('ok')
            """;
        Assert.Equal("ok", Run.PythonScript(script, m.Path).EnsureSuccess("locks").StdOut.Trim());
    }

    [Fact]
    public void Sparse_files_fallocate_and_seek_data()
    {
        using var m = Mount();
        const string script = """
            import os, sys
            p = os.path.join(sys.argv[1], 'sparse')
            fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
            os.pwrite(fd, b'data', 1 << 20)
            assert os.fstat(fd).st_size == (1 << 20) + 4
            assert os.fstat(fd).st_blocks * 512 < 256 * 1024, os.fstat(fd).st_blocks
            assert os.lseek(fd, 0, os.SEEK_DATA) >= 512 * 1024
            assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
            os.posix_fallocate(fd, 0, 65536)
            assert os.fstat(fd).st_size == (1 << 20) + 4
            assert os.pread(fd, 4, 1 << 20) == b'data'
            q = os.path.join(sys.argv[1], 'copy')
            fd2 = os.open(q, os.O_CREAT | os.O_RDWR, 0o644)
            n = os.copy_file_range(fd, fd2, 4, (1 << 20), 0)
            assert n == 4 and os.pread(fd2, 4, 0) == b'data', n
            print('ok')
            """;
        Assert.Equal("ok", Run.PythonScript(script, m.Path).EnsureSuccess("sparse").StdOut.Trim());
    }

    [Fact]
    public void Unlinked_open_file_keeps_its_data()
    {
        using var m = Mount();
        const string script = """
            import os, sys
            p = os.path.join(sys.argv[1], 'gone')
            f = open(p, 'w+')
            f.write('still here'); f.flush()
            os.unlink(p)
            assert not os.path.exists(p)
            f.seek(0)
            assert f.read() == 'still here'
            print('ok')
            """;
        Assert.Equal("ok", Run.PythonScript(script, m.Path).EnsureSuccess("unlinked").StdOut.Trim());
    }
}
