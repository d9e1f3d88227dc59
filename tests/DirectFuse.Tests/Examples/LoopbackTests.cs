using DirectFuse.Examples.Loopback;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Examples;

/// <summary>loopback over a temporary source directory, with and without passthrough, on real mounts.</summary>
public sealed class LoopbackTests
{
    private sealed class Mirror : IDisposable
    {
        public Mirror(bool passthrough, string? sourceParent = null, int? descriptorBudget = null)
        {
            Source = sourceParent is null
                ? Directory.CreateTempSubdirectory("df-src-").FullName
                : Directory.CreateDirectory(Path.Combine(sourceParent, $"df-src-{Guid.NewGuid():N}")).FullName;
            Fs = new LoopbackFileSystem(Source, new LoopbackOptions { UsePassthrough = passthrough, InodeDescriptorBudget = descriptorBudget });
            Mount = TempMount.Create(Fs);
        }

        public string Source { get; }
        public LoopbackFileSystem Fs { get; }
        public TempMount Mount { get; }

        public void Dispose()
        {
            Mount.Dispose();
            Directory.Delete(Source, recursive: true);
        }
    }

    public static TheoryData<bool> Modes => [false, true];

    [Theory, MemberData(nameof(Modes))] public void Coreutils_tree(bool passthrough) { using var m = new Mirror(passthrough); PosixToolSuite.CoreutilsTree(m.Mount.Path); }
    [Theory, MemberData(nameof(Modes))] public void Links_and_attributes(bool passthrough) { using var m = new Mirror(passthrough); PosixToolSuite.LinksAndAttributes(m.Mount.Path); }
    [Theory, MemberData(nameof(Modes))] public void Dd_and_truncate(bool passthrough) { using var m = new Mirror(passthrough); PosixToolSuite.DdAndTruncate(m.Mount.Path); }
    [Theory, MemberData(nameof(Modes))] public void Python_os(bool passthrough) { using var m = new Mirror(passthrough); PosixToolSuite.PythonOs(m.Mount.Path); }
    [Theory, MemberData(nameof(Modes))] public void Xattrs(bool passthrough) { using var m = new Mirror(passthrough); PosixToolSuite.Xattrs(m.Mount.Path); }
    [Theory, MemberData(nameof(Modes))] public void Fio_verify(bool passthrough) { using var m = new Mirror(passthrough); PosixToolSuite.Fio(m.Mount.Path); }
    [Fact] public void Stress_ng() { using var m = new Mirror(true); PosixToolSuite.StressNg(m.Mount.Path); }

    // The same suites with every inode but the root kept by its file handle (a descriptor budget of 1): each
    // operation reopens its inode, as past the budget on a source with more inodes than descriptors.
    [Theory, MemberData(nameof(Modes))]
    public void Posix_suites_with_inodes_kept_by_file_handles(bool passthrough)
    {
        using var m = new Mirror(passthrough, descriptorBudget: 1);
        PosixToolSuite.CoreutilsTree(m.Mount.Path);
        PosixToolSuite.LinksAndAttributes(m.Mount.Path);
        PosixToolSuite.DdAndTruncate(m.Mount.Path);
        PosixToolSuite.PythonOs(m.Mount.Path);
        PosixToolSuite.Xattrs(m.Mount.Path);
        Assert.Equal(1, m.Fs.InodeDescriptors);
    }

    [Fact]
    public void More_inodes_than_the_descriptor_budget_stay_reachable_without_holding_descriptors()
    {
        using var m = new Mirror(passthrough: true, descriptorBudget: 64);
        for (int d = 0; d < 10; d++)
        {
            Directory.CreateDirectory(Path.Combine(m.Source, $"d{d}"));
            for (int f = 0; f < 100; f++) File.WriteAllText(Path.Combine(m.Source, $"d{d}", $"f{f}"), $"{d}/{f}");
        }
        int before = Directory.GetFiles("/proc/self/fd").Length;
        // Keep every inode known to the kernel (a second walk finds them cached), and read each file.
        var walk = Run.Shell("find . -type f | sort | xargs cat | wc -c && find . | wc -l", m.Mount.Path).EnsureSuccess("walk");
        Assert.Equal(["3900", "1011"], walk.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(m.Fs.KnownInodes > 1000, $"the kernel knows {m.Fs.KnownInodes} inodes");
        Assert.True(m.Fs.InodeDescriptors <= 64, $"{m.Fs.InodeDescriptors} inodes hold a descriptor");
        Assert.True(Directory.GetFiles("/proc/self/fd").Length - before < 100, "the server holds a descriptor per inode");
        // Open, unlink, then fstat and write through the open file: the inode has no name and no handle to reopen.
        const string script = """
            import os, sys
            p = sys.argv[1]
            fd = os.open(p, os.O_RDWR)
            os.unlink(p)
            os.write(fd, b'still here')
            os.ftruncate(fd, 4)
            print(os.fstat(fd).st_size, os.fstat(fd).st_nlink)
            """;
        Assert.Equal("4 0", Run.PythonScript(script, m.Mount["d9/f99"]).EnsureSuccess("open-unlink-fstat").StdOut.Trim());
        // A file removed behind the mount's back: ESTALE for the stale inode becomes ENOENT after a fresh lookup.
        // 6.1 and newer asked the server at once in our runs; 5.10 answered from its cache until the 1 s attribute
        // timeout had passed.
        File.Delete(Path.Combine(m.Source, "d0", "f0"));
        Assert.True(SpinWait.SpinUntil(() => !File.Exists(m.Mount["d0/f0"]), Patience.Seconds(5)), "d0/f0 still exists");
    }

    [Fact]
    public void A_reused_inode_number_reaches_the_new_file_not_the_stale_node_kept_by_handle()
    {
        // ext4 (and most disk file systems) hand a deleted file's inode number to the next file created. An inode
        // kept only by its handle does not pin its number the way a descriptor does, so while the kernel still
        // knows the deleted file's node, a new file may arrive under the same (dev, ino): it must get a node of its
        // own, not the old one, whose handle answers ESTALE (seen as python's ESTALE on open under load).
        using var m = new Mirror(passthrough: false, descriptorBudget: 1);
        int reused = 0;
        for (int round = 0; round < 20; round++)
        {
            string old = Path.Combine(m.Source, $"old{round}");
            File.WriteAllText(old, "old");
            Assert.Equal("old", Run.Process("cat", m.Mount[$"old{round}"]).EnsureSuccess("cat old").StdOut);
            ulong oldIno = Inode(old);
            File.Delete(old); // Behind the kernel's back: it keeps the node while its dentry is cached.
            string fresh = Path.Combine(m.Source, $"new{round}");
            File.WriteAllText(fresh, $"new {round}");
            if (Inode(fresh) == oldIno) reused++;
            Assert.Equal($"new {round}", Run.Process("cat", m.Mount[$"new{round}"]).EnsureSuccess("cat new").StdOut);
        }
        // ext4 reuses the number at once; a file system that never does (tmpfs, as in the qemu runs) has nothing to prove.
        string fsType = Run.Process("stat", "-f", "-c", "%T", m.Source).EnsureSuccess("stat -f").StdOut.Trim();
        if (fsType.StartsWith("ext", StringComparison.Ordinal)) Assert.True(reused > 0, $"{fsType} reused no inode number in 20 rounds");
        Assert.Equal(1, m.Fs.InodeDescriptors);

        static ulong Inode(string path) => ulong.Parse(Run.Process("stat", "-c", "%i", path).EnsureSuccess("stat").StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Theory, MemberData(nameof(Modes))]
    public void Mirrors_the_source_both_ways(bool passthrough)
    {
        using var m = new Mirror(passthrough);
        File.WriteAllText(Path.Combine(m.Source, "from-source"), "S");
        Assert.Equal("S", Run.Process("cat", m.Mount["from-source"]).EnsureSuccess("cat").StdOut);
        Run.Shell($"mkdir '{m.Mount["d"]}' && echo M > '{m.Mount["d/from-mount"]}'").EnsureSuccess("write via mount");
        Assert.Equal("M\n", File.ReadAllText(Path.Combine(m.Source, "d", "from-mount")));
        var viaMount = Run.Process("stat", "-c", "%s %a %h %Y", m.Mount["d/from-mount"]).EnsureSuccess("stat").StdOut;
        var viaSource = Run.Process("stat", "-c", "%s %a %h %Y", Path.Combine(m.Source, "d", "from-mount")).EnsureSuccess("stat").StdOut;
        Assert.Equal(viaSource, viaMount);
    }

    [Theory, MemberData(nameof(Modes))]
    public void Shared_mmap_writes_reach_the_source_file(bool passthrough)
    {
        using var m = new Mirror(passthrough);
        File.WriteAllBytes(Path.Combine(m.Source, "mapped"), new byte[8192]);
        const string script = """
            import mmap, os, sys
            fd = os.open(sys.argv[1], os.O_RDWR)
            mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
            mm[100:105] = b'hello'
            mm.flush(); mm.close(); os.close(fd)
            print('ok')
            """;
        Run.PythonScript(script, m.Mount["mapped"]).EnsureSuccess("mmap");
        var bytes = File.ReadAllBytes(Path.Combine(m.Source, "mapped"));
        Assert.Equal("hello"u8.ToArray(), bytes[100..105]);
    }

    [Fact]
    public void Passthrough_is_used_as_root_and_reads_bypass_the_server()
    {
        using var m = new Mirror(passthrough: true);
        File.WriteAllBytes(Path.Combine(m.Source, "big"), new byte[4 << 20]);
        Run.Shell($"cat '{m.Mount["big"]}' > /dev/null").EnsureSuccess("read");
        if (!KernelFeatures.Passthrough)
        {
            // The fallback: the server serves the reads, and says why at start.
            Assert.False(m.Fs.PassthroughActive);
            Assert.Contains("needs Linux 6.9+", m.Fs.Describe());
            Assert.True(m.Fs.ServedReads > 0);
            return;
        }
        Assert.True(m.Fs.PassthroughActive, "passthrough was not used although the test runs as root on a kernel with passthrough");
        Assert.Equal(0, m.Fs.ServedReads);
    }

    [Fact]
    public void Passthrough_is_active_on_every_one_of_100_mounts_in_a_row()
    {
        // The start-up probe registers a backing file at once: before the engine marked itself initialized only
        // after writing the INIT reply, it could reach the kernel first, be refused, and leave passthrough off
        // for the life of the mount (about 1 mount in 7 on a busy machine).
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            var off = new List<string>();
            for (int i = 0; i < 100; i++)
            {
                var fs = new LoopbackFileSystem(source);
                using var mount = TempMount.Create(fs);
                if (fs.PassthroughActive != KernelFeatures.Passthrough) off.Add($"mount {i}: {fs.Describe()}");
            }
            Assert.Empty(off);
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Without_passthrough_the_server_serves_reads()
    {
        using var m = new Mirror(passthrough: false);
        File.WriteAllBytes(Path.Combine(m.Source, "big"), new byte[1 << 20]);
        Run.Shell($"cat '{m.Mount["big"]}' > /dev/null").EnsureSuccess("read");
        Assert.False(m.Fs.PassthroughActive);
        Assert.True(m.Fs.ServedReads > 0);
    }

    [Fact]
    public void Another_users_new_files_belong_to_them()
    {
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            Run.Process("chmod", "1777", source).EnsureSuccess("chmod");
            var fs = new LoopbackFileSystem(source, new LoopbackOptions { UsePassthrough = true });
            using var mount = TempMount.Create(fs, new DirectFuse.Session.FuseSessionOptions { Mount = new DirectFuse.Session.MountOptions { AllowOther = true, Subtype = "test" } });
            Run.AsNobody("/bin/sh", "-c", $"echo x > '{mount["theirs"]}'").EnsureSuccess("write as nobody");
            Assert.Equal("65534:65534", Run.Process("stat", "-c", "%u:%g", Path.Combine(source, "theirs")).EnsureSuccess("stat").StdOut.Trim());
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Without_xattrs_the_kernel_stops_asking_and_writes_still_drop_set_user_id()
    {
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            var fs = new LoopbackFileSystem(source, new LoopbackOptions { Xattrs = false, UsePassthrough = false });
            using var mount = TempMount.Create(fs, new DirectFuse.Session.FuseSessionOptions { Mount = new DirectFuse.Session.MountOptions { AllowOther = true, Subtype = "test" } });
            var setfattr = Run.Process("setfattr", "-n", "user.x", "-v", "1", mount.Path);
            Assert.Contains("Operation not supported", setfattr.StdErr);
            // Privileges are still dropped: the kernel checks the mode bits itself.
            File.WriteAllText(Path.Combine(source, "suid"), "x");
            Run.Process("chmod", "4777", Path.Combine(source, "suid")).EnsureSuccess("chmod");
            Run.AsNobody("/bin/sh", "-c", $"echo y >> '{mount["suid"]}'").EnsureSuccess("append as nobody");
            Assert.Equal("777", Run.Process("stat", "-c", "%a", Path.Combine(source, "suid")).EnsureSuccess("stat").StdOut.Trim());
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    /// <summary>close(2) of files written through the mirror, with the FLUSH requests the server answered.</summary>
    private static long FlushesForClosedFiles(string source, LoopbackOptions options)
    {
        var fs = new LoopbackFileSystem(source, options);
        using var mount = TempMount.Create(fs);
        Run.Shell($"for i in 1 2 3 4 5; do echo $i > '{mount.Path}'/f$i; cat '{mount.Path}'/f$i > /dev/null; done").EnsureSuccess("write and read files");
        Assert.Equal("5\n", File.ReadAllText(Path.Combine(source, "f5")));
        return fs.ServedFlushes;
    }

    [Theory, MemberData(nameof(Modes))]
    public void Closing_files_on_a_local_source_costs_no_FLUSH_round_trip(bool passthrough)
    {
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            long flushes = FlushesForClosedFiles(source, new LoopbackOptions { UsePassthrough = passthrough });
            // Before protocol 7.35 (Linux 5.16) the kernel has no FOPEN_NOFLUSH and sends FLUSH at every close.
            if (KernelFeatures.NoFlush) Assert.Equal(0, flushes);
            else Assert.True(flushes >= 10, $"{flushes} FLUSH requests for 10 closes on protocol 7.{KernelFeatures.ProtocolMinor}");
            // Switched off, every close is a FLUSH again: the test above measures the elision, not a quiet kernel.
            Assert.True(FlushesForClosedFiles(source, new LoopbackOptions { UsePassthrough = passthrough, ElideNoOpFlush = false }) >= 10);
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void A_source_whose_close_does_work_keeps_its_FLUSH()
    {
        // A FUSE file system as the source: its close(2) is a FLUSH of its own, which must still happen.
        using var inner = TempMount.Create(new DirectFuse.Examples.MemFs.MemFileSystem(), prefix: "df-inner-");
        Assert.True(FlushesForClosedFiles(inner.Path, new LoopbackOptions { UsePassthrough = false }) >= 10);
    }

    /// <summary>Lists the mirror of a 300-entry directory twice; returns the READDIR(PLUS) requests the second listing cost.</summary>
    private static long ListingRequestsOfASecondListing(LoopbackOptions options)
    {
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            for (int i = 0; i < 300; i++) File.WriteAllText(Path.Combine(source, $"entry{i:D3}"), "");
            var fs = new LoopbackFileSystem(source, options);
            using var mount = TempMount.Create(fs);
            Assert.Equal("300", Run.Shell($"ls -f '{mount.Path}' | grep -c entry").EnsureSuccess("first listing").StdOut.Trim());
            long afterFirst = fs.ServedListingRequests;
            Assert.True(afterFirst > 0, "the first listing never reached the server");
            Assert.Equal("300", Run.Shell($"ls -f '{mount.Path}' | grep -c entry").EnsureSuccess("second listing").StdOut.Trim());
            return fs.ServedListingRequests - afterFirst;
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    [Theory, MemberData(nameof(Modes))]
    public void Listing_an_unchanged_directory_again_is_answered_by_the_kernel(bool passthrough)
    {
        // Before 6.13 the cache stays off (a change within a clock tick can leave the directory's stamps as they were).
        long served = ListingRequestsOfASecondListing(new LoopbackOptions { UsePassthrough = passthrough });
        if (!KernelFeatures.MultigrainTimestamps)
        {
            Assert.True(served > 0);
            return;
        }
        Assert.Equal(0, served);
        // Switched off, the second listing is served again: the zero above is the cache at work.
        Assert.True(ListingRequestsOfASecondListing(new LoopbackOptions { UsePassthrough = passthrough, CacheDirectoryListings = false }) > 0);
    }

    [Theory]
    [InlineData("/tmp")]     // ext4 here
    [InlineData("/dev/shm")] // tmpfs
    public void Every_change_to_the_source_or_through_the_mount_shows_in_the_next_listing(string sourceParent)
    {
        using var m = new Mirror(passthrough: true, sourceParent);
        for (int i = 0; i < 100; i++) File.WriteAllText(Path.Combine(m.Source, $"old{i:D3}"), "");
        // Each change comes right after a listing the kernel holds (listed twice: cached, and the directory's
        // attributes fresh, so the kernel's own mtime check would not notice a change behind the mount), and is
        // listed at once: within one clock tick of the previous listing, the change must still be seen.
        const string script = """
            import os, sys
            mnt, src = sys.argv[1], sys.argv[2]
            def listing():
                return set(os.listdir(mnt))
            base = listing()
            assert len(base) == 100, len(base)
            def check(expected, what):
                assert listing() == expected, what
                listing()
            for i in range(150):
                name = f"new{i}"
                where = src if i % 2 == 0 else mnt              # behind the mount, or through it
                check(base, f"before {i}")
                open(os.path.join(where, name), "w").close()
                check(base | {name}, f"create {i} via {where} not listed")
                os.rename(os.path.join(where, name), os.path.join(where, name + ".moved"))
                check(base | {name + ".moved"}, f"rename {i} via {where} not listed")
                os.unlink(os.path.join(src if i % 3 == 0 else mnt, name + ".moved"))
                check(base, f"unlink {i} still listed")
            # A directory that changes before every listing is listed without the cache; once it holds still
            # the cache comes back, and must still see the next change.
            names = set(base)
            for i in range(40):
                name = f"churn{i}"
                open(os.path.join(src if i % 2 == 0 else mnt, name), "w").close()
                names.add(name)
                assert listing() == names, f"churn {i} not listed"
            for i in range(5):
                check(names, f"still {i}")
                open(os.path.join(src, f"late{i}"), "w").close()
                names.add(f"late{i}")
                check(names, f"late {i} not listed")
            print("ok")
            """;
        Assert.Equal("ok", Run.PythonScript(script, m.Mount.Path, m.Source).EnsureSuccess("listings after changes").StdOut.Trim());
        Assert.True(m.Fs.ServedListingRequests > 0);
    }

    [Fact]
    public void A_directory_that_changes_between_listings_is_listed_without_the_cache_until_it_holds_still()
    {
        int changes = 0;
        Assert.Equal(OpenReplyFlags.CacheDir, LoopbackFileSystem.DecideListingCache(unchanged: false, ref changes)); // first listing
        Assert.Equal(OpenReplyFlags.CacheDir | OpenReplyFlags.KeepCache, LoopbackFileSystem.DecideListingCache(unchanged: true, ref changes));
        Assert.Equal(OpenReplyFlags.CacheDir, LoopbackFileSystem.DecideListingCache(unchanged: false, ref changes)); // one change: cache anew
        Assert.Equal(OpenReplyFlags.None, LoopbackFileSystem.DecideListingCache(unchanged: false, ref changes)); // changing: no cache
        Assert.Equal(OpenReplyFlags.None, LoopbackFileSystem.DecideListingCache(unchanged: false, ref changes));
        Assert.Equal(OpenReplyFlags.CacheDir | OpenReplyFlags.KeepCache, LoopbackFileSystem.DecideListingCache(unchanged: true, ref changes));
        Assert.Equal(0, changes);
    }

    [Fact]
    public void Only_file_systems_without_close_time_work_are_elided()
    {
        Assert.True(LoopbackFileSystem.CloseIsNoOp(0xEF53)); // ext2/3/4
        Assert.True(LoopbackFileSystem.CloseIsNoOp(0x01021994)); // tmpfs
        Assert.False(LoopbackFileSystem.CloseIsNoOp(0x6969)); // NFS
        Assert.False(LoopbackFileSystem.CloseIsNoOp(0x65735546)); // FUSE
        Assert.False(LoopbackFileSystem.CloseIsNoOp(0x794C7630)); // overlayfs forwards flush to the real file
    }

    /// <summary>
    /// Started with a soft limit of 256 open files, the CLI server raises it to the hard limit, reports it, and
    /// serves a walk of more entries than 256 (one O_PATH descriptor each, all held while the kernel caches them).
    /// </summary>
    [Fact]
    public void Cli_server_raises_its_open_file_limit_and_walks_a_tree_bigger_than_the_old_one()
    {
        ulong hard = OpenFilesLimit("/proc/self/limits").Hard;
        Assert.True(hard >= 2048, $"the hard open file limit ({hard}) is too low for this test");
        const int Dirs = 4, FilesPerDir = 150; // 600 files: well past the soft limit of 256
        using var loopback = LimitedCliLoopback.Start("--nofile=256:", source =>
        {
            for (int d = 0; d < Dirs; d++)
            {
                string dir = Directory.CreateDirectory(Path.Combine(source, $"d{d}")).FullName;
                for (int f = 0; f < FilesPerDir; f++) File.WriteAllText(Path.Combine(dir, $"f{f}"), "x");
            }
        });
        var server = loopback.Server;
        string line = server.StandardOutput.ReadLine() ?? server.StandardError.ReadToEnd();
        Assert.Contains($"open file limit {hard}", line);
        var (soft, serverHard) = OpenFilesLimit($"/proc/{server.Id}/limits");
        Assert.Equal(hard, soft);
        Assert.Equal(hard, serverHard);
        // -printf %s stats every entry, so each one is looked up and keeps its descriptor in the server.
        var walk = Run.Process("find", loopback.MountPoint, "-type", "f", "-printf", "%s\n").EnsureSuccess("find through the mount");
        Assert.Equal("", walk.StdErr);
        Assert.Equal(Dirs * FilesPerDir, walk.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        int held = Directory.GetFileSystemEntries($"/proc/{server.Id}/fd").Length;
        Assert.True(held > 256, $"the server holds only {held} descriptors; the walk did not need more than the old limit");
        Assert.Equal(0, loopback.Unmount());
    }

    [Fact]
    public void Four_parallel_copies_of_a_tree_far_larger_than_the_hard_descriptor_limit()
    {
        // The issue's case: 4 parallel cp -a of /usr/share/doc once gave hundreds of EMFILE, after which even
        // find failed. With 512 descriptors at most, inodes past the budget are kept by file handle.
        using var loopback = LimitedCliLoopback.Start("--nofile=512:512");
        string mnt = loopback.MountPoint;
        Assert.Contains("open file limit 512", loopback.Server.StandardOutput.ReadLine());
        var copy = Run.Shell($"for i in 1 2 3 4; do cp -a /usr/share/doc '{mnt}/doc'$i & done; wait; find '{mnt}' | wc -l", timeout: TimeSpan.FromMinutes(3));
        Assert.Equal("", copy.StdErr);
        int entries = int.Parse(Run.Shell("find /usr/share/doc | wc -l").EnsureSuccess("count").StdOut.Trim());
        Assert.True(entries > 1000, $"/usr/share/doc has only {entries} entries here");
        Assert.Equal(4 * entries + 1, int.Parse(copy.StdOut.Trim()));
        Run.Process("diff", "-r", "--no-dereference", "/usr/share/doc", Path.Combine(loopback.Source, "doc4")).EnsureSuccess("the copy is exact");
        Assert.True(Directory.GetFileSystemEntries($"/proc/{loopback.Server.Id}/fd").Length < 512, "the server is at its descriptor limit");
        Assert.Equal(0, loopback.Unmount());
    }

    /// <summary>
    /// The CLI's loopback server of a fresh source under <c>prlimit LIMIT</c>, its output redirected; Dispose kills
    /// it if need be, unmounts and removes both directories, also when the test failed.
    /// </summary>
    private sealed class LimitedCliLoopback : IDisposable
    {
        private LimitedCliLoopback(string source, string mountPoint, System.Diagnostics.Process server) =>
            (Source, MountPoint, Server) = (source, mountPoint, server);

        public string Source { get; }
        public string MountPoint { get; }
        public System.Diagnostics.Process Server { get; }

        public static LimitedCliLoopback Start(string limit, Action<string>? populate = null)
        {
            string source = Directory.CreateTempSubdirectory("df-src-").FullName;
            string mnt = Directory.CreateTempSubdirectory("df-mnt-").FullName;
            populate?.Invoke(source);
            var psi = new System.Diagnostics.ProcessStartInfo("prlimit") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[limit, .. CliProcess.Command, "mount", "loopback", source, mnt]) psi.ArgumentList.Add(a);
            return new LimitedCliLoopback(source, mnt, System.Diagnostics.Process.Start(psi)!);
        }

        /// <summary>umount(8), then the server's exit code.</summary>
        public int Unmount()
        {
            Run.Process("umount", MountPoint).EnsureSuccess("umount");
            Assert.True(Server.WaitForExit(Patience.Milliseconds(20_000)), "the server did not exit after umount");
            return Server.ExitCode;
        }

        public void Dispose()
        {
            if (!Server.HasExited) Server.Kill();
            Server.WaitForExit();
            Server.Dispose();
            Mounts.ForceUnmount(MountPoint);
            Directory.Delete(MountPoint);
            Directory.Delete(Source, recursive: true);
        }
    }

    /// <summary>The "Max open files" line of a /proc/PID/limits file.</summary>
    private static (ulong Soft, ulong Hard) OpenFilesLimit(string limitsFile)
    {
        string line = File.ReadLines(limitsFile).Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        string[] fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (ulong.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture), ulong.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
