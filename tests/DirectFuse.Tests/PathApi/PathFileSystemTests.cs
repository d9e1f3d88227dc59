using System.Text;
using System.Text.RegularExpressions;
using DirectFuse.LowLevel;
using DirectFuse.PathApi;
using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.PathApi;

/// <summary>
/// The path API on real mounts: a dictionary-of-paths file system behind a <see cref="PathFileSystemAdapter"/>,
/// driven by ordinary client programs (bash, coreutils, python3).
/// </summary>
public sealed class PathFileSystemTests
{
    private static TempMount Mount(MemoryPathFileSystem fs, PathFileSystemOptions? options = null) =>
        TempMount.Create(new PathFileSystemAdapter(fs, options), prefix: "df-path-");

    private static string Bytes(byte[]? data) => data is null ? "<missing>" : Encoding.UTF8.GetString(data);

    [Fact]
    public void CreatedFileReadsBackWhatWasWritten()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.Shell("printf 'hello path' > f && cat f", m.Path).EnsureSuccess("write and cat");
        Assert.Equal("hello path", r.StdOut);
        Assert.Equal("hello path", Bytes(fs.Content("/f")));

        // Larger writes at offsets, read back through a new descriptor.
        Run.PythonScript("""
            import os, sys
            p = os.path.join(sys.argv[1], 'big')
            with open(p, 'wb') as f:
                f.write(b'x' * 300000)
                f.seek(150000)
                f.write(b'abc')
            with open(p, 'rb') as f:
                data = f.read()
            assert len(data) == 300000, len(data)
            assert data[150000:150003] == b'abc'
            assert os.stat(p).st_size == 300000
            """, m.Path).EnsureSuccess("python write/read");
        Assert.Equal(300000, fs.Content("/big")!.Length);
    }

    [Fact]
    public void MkdirParentsCreatesNestedDirectories()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.Shell("mkdir -p a/b/c/d && echo deep > a/b/c/d/f && cat a/b/c/d/f && ls a/b/c", m.Path).EnsureSuccess("mkdir -p");
        Assert.Equal("deep\nd\n", r.StdOut);
        Assert.Equal(["/", "/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b/c/d/f"], fs.Paths);
        Assert.Contains(fs.Calls, c => c.StartsWith("mkdir /a/b/c/d ", StringComparison.Ordinal));
    }

    [Fact]
    public void FilesUnderARenamedDirectoryAreReachedByTheirNewPaths()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        Run.Shell("mkdir -p d/sub && echo one > d/sub/f && mv d e && cat e/sub/f && echo two >> e/sub/f && test ! -e d", m.Path)
            .EnsureSuccess("mv of a directory");
        Assert.Equal("one\ntwo\n", Bytes(fs.Content("/e/sub/f")));
        Assert.False(fs.Exists("/d/sub/f"));

        // A process whose working directory is inside the renamed tree uses the kernel's nodes, not names:
        // the adapter must turn them into the new paths.
        var r = Run.PythonScript("""
            import os, sys
            root = sys.argv[1]
            os.chdir(os.path.join(root, 'e', 'sub'))
            os.rename(os.path.join(root, 'e'), os.path.join(root, 'x'))
            print(open('f').read(), end='')
            with open('g', 'w') as g:
                g.write('new')
            print(os.path.relpath(os.getcwd(), root))
            """, m.Path).EnsureSuccess("rename under the cwd");
        Assert.Equal("one\ntwo\nx/sub\n", r.StdOut);
        Assert.Equal("new", Bytes(fs.Content("/x/sub/g")));
        Assert.Equal(["/", "/x", "/x/sub", "/x/sub/f", "/x/sub/g"], fs.Paths);
    }

    [Fact]
    public void RenameExchangeSwapsTheTwoSubtrees()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.PythonScript("""
            import ctypes, os, sys
            os.chdir(sys.argv[1])
            os.makedirs('a'); os.makedirs('b')
            open('a/fa', 'w').write('A'); open('b/fb', 'w').write('B')
            os.chdir('a')  # the cwd's node moves to /b with the exchange
            libc = ctypes.CDLL(None, use_errno=True)
            AT_FDCWD, RENAME_EXCHANGE = -100, 2
            if libc.renameat2(AT_FDCWD, b'../a', AT_FDCWD, b'../b', RENAME_EXCHANGE) != 0:
                raise OSError(ctypes.get_errno(), 'renameat2')
            print(open('fa').read(), open('../a/fb').read(), open('../b/fa').read())
            """, m.Path).EnsureSuccess("renameat2 RENAME_EXCHANGE");
        Assert.Equal("A B A\n", r.StdOut);
        Assert.Equal(["/", "/a", "/a/fb", "/b", "/b/fa"], fs.Paths);
    }

    [Fact]
    public void RecursiveRemoveEmptiesTheTree()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.Shell("mkdir -p t/u/v && touch t/1 t/u/2 t/u/v/3 && ln -s 1 t/link && rm -r t && ls -A", m.Path).EnsureSuccess("rm -r");
        Assert.Equal("", r.StdOut);
        Assert.Equal(["/"], fs.Paths);
    }

    [Fact]
    public void ListingShowsNamesAndAttributes()
    {
        var fs = new MemoryPathFileSystem();
        fs.AddFile("/small", "abc"u8.ToArray(), perm: 0x1A0 /* 0640 */, uid: 1234, gid: 5678, mtime: 1_000_000_000);
        fs.AddDirectory("/sub");
        using var m = Mount(fs);

        var ls = Run.Shell("ls -la --time-style=+%s", m.Path).EnsureSuccess("ls -la").StdOut;
        var lines = ls.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.EndsWith(" .", StringComparison.Ordinal) && l.StartsWith('d'));
        Assert.Contains(lines, l => l.EndsWith(" ..", StringComparison.Ordinal));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^-rw-r-----\s+1\s+1234\s+5678\s+3\s+1000000000\s+small$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^drwxr-xr-x\s+2\s+root\s+root\s+0\s+\d+\s+sub$"));

        var stat = Run.Shell("stat -c '%n|%s|%a|%F|%u|%g|%Y|%h' small sub", m.Path).EnsureSuccess("stat").StdOut;
        Assert.Equal("small|3|640|regular file|1234|5678|1000000000|1\nsub|0|755|directory|0|0|", stat[..(stat.IndexOf("directory|0|0|", StringComparison.Ordinal) + 14)]);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void LargeDirectoryListsEveryEntryOnce(bool ownOffsets, bool readdirPlus)
    {
        var fs = new MemoryPathFileSystem { OwnOffsets = ownOffsets };
        for (int i = 0; i < 1000; i++) fs.AddFile($"/a-fairly-long-file-name-to-fill-pages-{i:D4}", [(byte)i], mtime: 1_000_000_000 + i);
        using var m = Mount(fs, new PathFileSystemOptions { ReaddirPlus = readdirPlus });
        Assert.Equal(readdirPlus, m.Session.Connection.Has(InitFlags.DoReaddirplus));

        Run.PythonScript("""
            import os, sys
            names = os.listdir(sys.argv[1])
            assert len(names) == 1000 and len(set(names)) == 1000, len(names)
            for e in os.scandir(sys.argv[1]):
                st = e.stat()
                i = int(e.name[-4:])
                assert st.st_size == 1 and st.st_mtime == 1000000000 + i, (e.name, st)
                assert e.is_file()
            """, m.Path).EnsureSuccess("listdir/scandir");
        var r = Run.Shell("ls -la | wc -l", m.Path).EnsureSuccess("ls -la");
        Assert.Equal("1003", r.StdOut.Trim()); // "total" line, ".", "..", 1000 files
    }

    [Fact]
    public void SetAttrReachesChmodChownTruncateAndUtimens()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.Shell("echo 123456789 > f && chmod 600 f && chown 42:43 f && truncate -s 3 f && touch -m -d @1234567890 f && stat -c '%a %u %g %s %Y' f", m.Path)
            .EnsureSuccess("chmod/chown/truncate/touch");
        Assert.Equal("600 42 43 3 1234567890\n", r.StdOut);
        Assert.Contains("chmod /f 600", fs.Calls);
        Assert.Contains("chown /f 42 43", fs.Calls);
        Assert.Contains("truncate /f 3 fh", fs.Calls); // truncate(1) opens the file and uses ftruncate
        Assert.Contains("utimens /f - 1234567890", fs.Calls);

        // ftruncate carries the open file's handle (fchmod does not: the kernel's chmod never passes a file).
        Run.PythonScript("""
            import os, sys
            fd = os.open(os.path.join(sys.argv[1], 'f'), os.O_RDWR)
            os.ftruncate(fd, 1)
            os.fchmod(fd, 0o644)
            os.close(fd)
            os.truncate(os.path.join(sys.argv[1], 'f'), 2)
            """, m.Path).EnsureSuccess("ftruncate/fchmod/truncate");
        Assert.Contains("truncate /f 2", fs.Calls);
        Assert.Contains("truncate /f 1 fh", fs.Calls);
        Assert.Contains("chmod /f 644", fs.Calls);

        // open(O_TRUNC) arrives as a truncate (atomic O_TRUNC is off).
        Run.Shell(": > f", m.Path).EnsureSuccess("O_TRUNC");
        Assert.Contains(fs.Calls, c => c.StartsWith("truncate /f 0", StringComparison.Ordinal));
        Assert.Empty(fs.Content("/f")!);
    }

    [Fact]
    public async Task OneSetAttrBecomesCallsInLibfuseOrderAndStopsAtTheFirstError()
    {
        var fs = new MemoryPathFileSystem();
        fs.AddFile("/f", "0123456789"u8.ToArray());
        var adapter = new PathFileSystemAdapter(fs);
        var context = new FuseContext(1, 0, 0, 1);
        var entry = await adapter.LookupAsync(context, NodeId.Root, FileName.FromString("f"), default);
        var node = entry.Value.NodeId;
        var request = new SetAttrRequest
        {
            Valid = SetAttrFields.Mode | SetAttrFields.Uid | SetAttrFields.Size | SetAttrFields.Atime | SetAttrFields.MtimeNow | SetAttrFields.Mtime | SetAttrFields.Fh,
            Handle = new FileHandle(7),
            Mode = StatMode.Regular | 0x1C0, // 0700
            Uid = 5,
            Size = 4,
            Atime = new TimeSpec(100, 0),
        };
        var attr = await adapter.SetAttrAsync(context, node, request, default);
        Assert.True(attr.IsOk);
        Assert.Equal(node.Value, attr.Value.Attr.Ino);
        Assert.Equal(4, attr.Value.Attr.Size);
        var calls = fs.Calls.Where(c => !c.StartsWith("utimens", StringComparison.Ordinal)).ToList();
        Assert.Equal(["chmod /f 700 fh", "chown /f 5 -", "truncate /f 4 fh"], calls);
        var times = fs.Calls.Single(c => c.StartsWith("utimens", StringComparison.Ordinal)).Split(' ');
        Assert.Equal("100", times[2]); // atime as given, mtime "now"
        Assert.True(long.Parse(times[3]) > 1_700_000_000);

        // ENOENT from chmod (the file vanished behind the kernel's back): nothing else is called.
        fs.Calls.Clear();
        await fs.UnlinkAsync("/f", default);
        fs.Calls.Clear();
        var failed = await adapter.SetAttrAsync(context, node, request, default);
        Assert.Equal(Errno.ENOENT, failed.Error);
        Assert.Equal(["chmod /f 700 fh"], fs.Calls);
    }

    [Fact]
    public void MissingFilesAnswerENOENT()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var cat = Run.Shell("cat nothing-here", m.Path);
        Assert.NotEqual(0, cat.ExitCode);
        Assert.Contains("No such file or directory", cat.StdErr);
        Run.PythonScript("""
            import errno, os, sys
            for p in ['missing', 'missing/below', 'a/b']:
                try:
                    os.stat(os.path.join(sys.argv[1], p))
                    raise SystemExit('stat succeeded: ' + p)
                except FileNotFoundError as e:
                    assert e.errno == errno.ENOENT
            """, m.Path).EnsureSuccess("stat of missing paths");
    }

    [Fact]
    public void HandlerThrowingFuseExceptionGivesThatErrnoToTheClient()
    {
        var fs = new MemoryPathFileSystem();
        fs.AddFile("/secret", "x"u8.ToArray());
        fs.FailOpen["/secret"] = Errno.EACCES;
        using var m = Mount(fs);

        var r = Run.Shell("cat secret", m.Path);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("Permission denied", r.StdErr);
    }

    [Fact]
    public void SymbolicLinksResolveThroughThePathApi()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.Shell("ln -s some/target link && readlink link && mkdir d && echo hi > d/real && ln -s d/real l2 && cat l2", m.Path)
            .EnsureSuccess("symlinks");
        Assert.Equal("some/target\nhi\n", r.StdOut);
    }

    [Fact]
    public void UnlinkedOpenFileStaysReadableUntilItsLastClose()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.PythonScript("""
            import os, sys
            os.chdir(sys.argv[1])
            f = open('f', 'w+')
            f.write('keep me'); f.flush()
            os.unlink('f')
            assert not os.path.exists('f')
            print(all(n.startswith('.fuse_hidden') for n in os.listdir('.')), len(os.listdir('.')))
            f.seek(0)
            print(f.read())
            f.write(' and more'); f.flush(); f.seek(0)
            print(f.read())
            f.close()
            """, m.Path).EnsureSuccess("unlink while open");
        Assert.Equal("True 1\nkeep me\nkeep me and more\n", r.StdOut);
        // RELEASE follows close(2) asynchronously; then the hidden file goes.
        Assert.True(SpinWait.SpinUntil(() => fs.Paths.Length == 1, Patience.Seconds(5)), string.Join(", ", fs.Paths));
    }

    [Fact]
    public void ConcurrentClientsWorkOnSeparateTrees()
    {
        var fs = new MemoryPathFileSystem();
        using var m = Mount(fs);

        var r = Run.Shell("for i in $(seq 1 16); do (mkdir d$i && for j in $(seq 1 25); do echo $i-$j > d$i/f$j; done; mv d$i e$i) & done; wait; cat e*/f* | wc -l", m.Path)
            .EnsureSuccess("parallel clients");
        Assert.Equal("400", r.StdOut.Trim());
        Assert.Equal(1 + 16 + 400, fs.Paths.Length);
        for (int i = 1; i <= 16; i++)
            for (int j = 1; j <= 25; j++)
                Assert.Equal($"{i}-{j}\n", Bytes(fs.Content($"/e{i}/f{j}")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForgottenNodesLeaveTheTable(bool readdirPlus)
    {
        var fs = new MemoryPathFileSystem();
        fs.AddDirectory("/dir");
        for (int i = 0; i < 100; i++) fs.AddFile($"/dir/f{i}", [1]);
        var adapter = new PathFileSystemAdapter(fs, new PathFileSystemOptions { ReaddirPlus = readdirPlus });
        using var m = TempMount.Create(adapter, prefix: "df-path-");

        Run.Shell("ls -la dir > /dev/null && stat dir/f1 dir/f2 > /dev/null && cat dir/f3 > /dev/null", m.Path).EnsureSuccess("ls");
        // READDIRPLUS entries with attributes count as lookups: every file got a node.
        Assert.True(adapter.NodeCount >= (readdirPlus ? 102 : 5), $"{adapter.NodeCount} nodes");
        // Make the kernel evict the unused inodes: each sends FORGET with the lookups it got.
        Assert.True(SpinWait.SpinUntil(() =>
        {
            File.WriteAllText("/proc/sys/vm/drop_caches", "2");
            return adapter.NodeCount == 1;
        }, Patience.Seconds(10)), $"{adapter.NodeCount} nodes left");
        // The names are looked up afresh afterwards.
        Assert.Equal("1", Run.Shell("ls dir/f99 | wc -l", m.Path).EnsureSuccess("ls again").StdOut.Trim());
    }

    [Fact]
    public void ExtendedAttributesRoundTrip()
    {
        var fs = new MemoryPathFileSystem();
        fs.AddFile("/f", [1]);
        using var m = Mount(fs);

        var r = Run.PythonScript("""
            import errno, os, sys
            p = os.path.join(sys.argv[1], 'f')
            os.setxattr(p, 'user.colour', b'blue')
            os.setxattr(p, 'user.big', b'x' * 5000)
            print(os.getxattr(p, 'user.colour').decode(), len(os.getxattr(p, 'user.big')), sorted(os.listxattr(p)))
            try:
                os.setxattr(p, 'user.colour', b'red', os.XATTR_CREATE)
            except OSError as e:
                print(errno.errorcode[e.errno])
            os.removexattr(p, 'user.colour')
            try:
                os.getxattr(p, 'user.colour')
            except OSError as e:
                print(errno.errorcode[e.errno])
            """, m.Path).EnsureSuccess("xattrs");
        Assert.Equal("blue 5000 ['user.big', 'user.colour']\nEEXIST\nENODATA\n", r.StdOut);
    }

    [Fact]
    public void HelloPathExampleServesItsFileAndDirectory()
    {
        using var m = TempMount.Create(new PathFileSystemAdapter(new DirectFuse.Examples.HelloPath.HelloPathFileSystem()), prefix: "df-path-");

        var r = Run.Shell("cat hello && ls && ls dir | wc -l && stat -c '%a %s' hello", m.Path).EnsureSuccess("hello");
        Assert.Equal("Hello, World!\ndir\nhello\n0\n444 14\n", r.StdOut);
        var write = Run.Shell("echo x >> hello", m.Path);
        Assert.NotEqual(0, write.ExitCode);
        Assert.Contains("Permission denied", write.StdErr);
    }

    [Fact]
    public void Path_file_systems_enforce_owners_with_the_context_checks()
    {
        var fs = new MemoryPathFileSystem { CheckPermissions = true };
        fs.AddFile("/secret", "s"u8.ToArray(), perm: 0x180);          // 0600 root
        fs.AddFile("/shared", "x"u8.ToArray(), perm: 0x1B6);          // 0666 root
        fs.AddFile("/suid", "x"u8.ToArray(), perm: 0x9FF);            // 04777 root
        var options = new DirectFuse.Session.FuseSessionOptions { Mount = new DirectFuse.Session.MountOptions { AllowOther = true, Subtype = "test" } };
        using var m = TempMount.Create(new PathFileSystemAdapter(fs), options, prefix: "df-path-");
        const string script = """
            import errno, os, sys
            root = sys.argv[1]
            def attempt(name, action):
                try:
                    action()
                    print(name, 'OK')
                except OSError as e:
                    print(name, errno.errorcode[e.errno])
            p = lambda n: os.path.join(root, n)
            attempt('read-secret', lambda: open(p('secret')).read())
            attempt('chmod-shared', lambda: os.chmod(p('shared'), 0o600))
            attempt('chown-shared', lambda: os.chown(p('shared'), 65534, -1))
            attempt('touch-shared', lambda: os.utime(p('shared')))
            attempt('utime-shared', lambda: os.utime(p('shared'), (1, 1)))
            attempt('truncate-shared', lambda: os.truncate(p('shared'), 0))
            attempt('append-suid', lambda: open(p('suid'), 'a').write('y'))
            print('suid-mode', oct(os.stat(p('suid')).st_mode & 0o7777))
            attempt('unlink-shared', lambda: os.unlink(p('shared')))
            attempt('create', lambda: open(p('new'), 'w'))
            """;
        var lines = Run.AsNobody(Run.Python, "-c", script, m.Path).EnsureSuccess("as nobody").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([
            "read-secret EACCES", "chmod-shared EPERM", "chown-shared EPERM", "touch-shared OK", "utime-shared EPERM",
            "truncate-shared OK", "append-suid OK", "suid-mode 0o777", "unlink-shared EACCES", "create EACCES"], lines);
    }
}
