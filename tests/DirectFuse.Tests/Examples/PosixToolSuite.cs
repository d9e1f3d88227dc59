using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Examples;

/// <summary>
/// Real-program checks that any POSIX-like mount must pass; memfs and loopback run them all. Each check
/// works in its own fresh subdirectory of <c>root</c>.
/// </summary>
internal static class PosixToolSuite
{
    public static void CoreutilsTree(string root)
    {
        string dir = Fresh(root, "tree");
        // A real tree with nested directories, many small files and symlinks.
        Run.Shell($"cp -a /usr/share/doc/dpkg '{dir}/copy' && diff -r /usr/share/doc/dpkg '{dir}/copy'").EnsureSuccess("cp -a + diff -r");
        Run.Shell($"mv '{dir}/copy' '{dir}/moved' && test ! -e '{dir}/copy' && diff -r /usr/share/doc/dpkg '{dir}/moved'").EnsureSuccess("mv of a directory");
        var find = Run.Shell($"find '{dir}/moved' -type f | wc -l; find /usr/share/doc/dpkg -type f | wc -l").EnsureSuccess("find");
        var counts = find.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(counts[1], counts[0]);
        Run.Shell($"du -s '{dir}/moved'").EnsureSuccess("du");
        Run.Shell($"rm -r '{dir}/moved' && test ! -e '{dir}/moved'").EnsureSuccess("rm -r");
    }

    public static void LinksAndAttributes(string root)
    {
        string dir = Fresh(root, "links");
        var r = Run.Shell($"""
            set -e
            cd '{dir}'
            echo hello > a
            ln a hard
            ln -s a soft
            test "$(stat -c %h a)" = 2
            test "$(readlink soft)" = a
            test "$(cat soft)" = hello
            test "$(stat -c %i a)" = "$(stat -c %i hard)"
            chmod 640 a && test "$(stat -c %a hard)" = 640
            chown 1234:4321 a && test "$(stat -c %u:%g hard)" = 1234:4321
            touch -d '2001-02-03 04:05:06.789' a && test "$(stat -c %y a)" = '2001-02-03 04:05:06.789000000 +0000'
            touch b && test -f b && test "$(stat -c %s b)" = 0
            rm a && test "$(cat hard)" = hello && test "$(stat -c %h hard)" = 1
            test ! -e soft || false
            """);
        r.EnsureSuccess("links and attributes");
    }

    public static void DdAndTruncate(string root)
    {
        string dir = Fresh(root, "dd");
        Run.Shell($"""
            set -e
            cd '{dir}'
            dd if=/dev/urandom of=src bs=64k count=32 status=none
            dd if=src of=copy bs=1M status=none
            cmp src copy
            dd if=/dev/zero of=sparse bs=4k count=1 seek=1000 status=none
            test "$(stat -c %s sparse)" = $((1001 * 4096))
            truncate -s 10000 copy && test "$(stat -c %s copy)" = 10000
            cmp -n 10000 src copy
            truncate -s 0 copy && test "$(stat -c %s copy)" = 0
            """).EnsureSuccess("dd and truncate");
    }

    public static void PythonOs(string root)
    {
        string dir = Fresh(root, "py");
        const string script = """
            import os, sys, errno, stat
            d = sys.argv[1]
            p = os.path.join(d, 'f')
            fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o600)
            assert os.write(fd, b'x' * 10000) == 10000
            assert os.pread(fd, 5, 9995) == b'xxxxx'
            os.pwrite(fd, b'abc', 20000)
            assert os.fstat(fd).st_size == 20003
            assert os.pread(fd, 10, 10000) == b'\0' * 10
            os.ftruncate(fd, 3)
            assert os.pread(fd, 100, 0) == b'xxx'
            os.fsync(fd)
            os.close(fd)
            try:
                os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                raise SystemExit('O_EXCL did not fail')
            except FileExistsError:
                pass
            os.mkdir(os.path.join(d, 'sub'))
            os.rename(p, os.path.join(d, 'sub', 'g'))
            assert sorted(os.listdir(d)) == ['sub']
            assert os.listdir(os.path.join(d, 'sub')) == ['g']
            try:
                os.rmdir(os.path.join(d, 'sub'))
                raise SystemExit('rmdir of a non-empty directory succeeded')
            except OSError as e:
                assert e.errno == errno.ENOTEMPTY, e
            os.unlink(os.path.join(d, 'sub', 'g'))
            os.rmdir(os.path.join(d, 'sub'))
            st = os.statvfs(d)
            assert st.f_namemax >= 255
            with open(os.path.join(d, 'append'), 'a') as f: f.write('1')
            with open(os.path.join(d, 'append'), 'a') as f: f.write('2')
            assert open(os.path.join(d, 'append')).read() == '12'
            names = ['n%03d' % i for i in range(300)]
            for n in names: open(os.path.join(d, n), 'w').close()
            assert sorted(x for x in os.listdir(d) if x.startswith('n')) == names
            print('ok')
            """;
        var result = Run.PythonScript(script, dir).EnsureSuccess("python3 os");
        Assert.Equal("ok", result.StdOut.Trim());
    }

    public static void Xattrs(string root)
    {
        string dir = Fresh(root, "xattr");
        Run.Shell($"""
            set -e
            cd '{dir}'
            touch f
            setfattr -n user.colour -v blue f
            test "$(getfattr --only-values -n user.colour f)" = blue
            setfattr -n user.size -v 12345 f
            getfattr -d f | grep -q 'user.size="12345"'
            setfattr -x user.colour f
            ! getfattr -n user.colour f 2>/dev/null
            """).EnsureSuccess("xattrs");
    }

    public static void Fio(string root)
    {
        string dir = Fresh(root, "fio");
        Run.Process("fio", ["--name=verify", $"--directory={dir}", "--size=8M", "--bs=4k", "--rw=randrw", "--ioengine=psync",
            "--numjobs=2", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--runtime=20", "--time_based=0"],
            TimeSpan.FromSeconds(120)).EnsureSuccess("fio --verify");
    }

    public static void StressNg(string root)
    {
        string dir = Fresh(root, "stress");
        Run.Process("stress-ng", ["--temp-path", dir, "--timeout", "5", "--dir", "1", "--rename", "1", "--hdd", "1", "--hdd-bytes", "4M",
            "--metrics-brief", "--verify"], TimeSpan.FromSeconds(90)).EnsureSuccess("stress-ng");
    }

    private static string Fresh(string root, string name)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
