using System.Text;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Fmmap;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>fmmap on real mounts with real client processes: python3's mmap module and our own client.</summary>
public sealed class FmmapTests
{
    private const long Size = 1 << 20;
    private const int EPERM = 1, ENODEV = 19, EDQUOT = 122;

    /// <summary>fmmap mounted so that other users (nobody) reach it too.</summary>
    internal static TempMount Mount(FmmapFileSystem fs) =>
        TempMount.Create(fs, new FuseSessionOptions { Mount = new MountOptions { Subtype = "fmmap", AllowOther = true } });

    private static string Buffer(TempMount m) => m[FmmapFileSystem.FileName];

    [Fact]
    public void Passthrough_shares_pages_both_ways_without_read_or_write_requests()
    {
        var fs = new FmmapFileSystem(Size);
        using var m = Mount(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return;
        using var client = MmapClientProcess.Start();
        client.Ok($"open {Buffer(m)}");
        client.Ok($"map {Size}");
        client.Ok("write 4096 written-by-client");
        var region = fs.RegionFor("uid:0")!;
        Assert.Equal("written-by-client", Encoding.ASCII.GetString(region.GetSpan(4096, 17)));
        "written-by-server"u8.CopyTo(region.GetSpan(Size - 4096, 17));
        Assert.Equal("written-by-server", client.Ok($"read {Size - 4096} 17"));
        // read(2)/write(2) go to the region too.
        Assert.Equal("ok 6", client.Send("pwrite 100 pwrite"));
        Assert.Equal("pwrite", Encoding.ASCII.GetString(region.GetSpan(100, 6)));
        Assert.Equal("written-by-server", client.Ok($"pread {Size - 4096} 17"));
        Assert.Equal(0, fs.ReadRequests);
        Assert.Equal(0, fs.WriteRequests);
    }

    [Fact]
    public void Python_mmap_sees_the_server_and_the_server_sees_python()
    {
        var fs = new FmmapFileSystem(Size);
        using var m = Mount(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return; // immediate coherence is the zero-copy path's
        fs.AddressSpace.CreateRegion(Size, shareKey: "unused"); // other regions do not get in the way
        const string script = """
            import mmap, os, sys
            fd = os.open(sys.argv[1], os.O_RDWR)
            mm = mmap.mmap(fd, int(sys.argv[2]), mmap.MAP_SHARED)
            mm[0:6] = b'python'
            sys.stdout.write('mapped\n'); sys.stdout.flush()
            sys.stdin.readline()
            print(mm[8:14].decode())
            """;
        var psi = new System.Diagnostics.ProcessStartInfo(Run.Python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", script, Buffer(m), Size.ToString() }) psi.ArgumentList.Add(a);
        using var py = System.Diagnostics.Process.Start(psi)!;
        try
        {
            Assert.Equal("mapped", py.StandardOutput.ReadLine());
            var region = fs.RegionFor("uid:0")!;
            Assert.Equal("python", Encoding.ASCII.GetString(region.GetSpan(0, 6)));
            "server"u8.CopyTo(region.GetSpan(8, 6));
            py.StandardInput.WriteLine("go");
            py.StandardInput.Flush();
            Assert.Equal("server", py.StandardOutput.ReadLine());
            Assert.True(py.WaitForExit(Patience.Milliseconds(10_000)));
        }
        finally
        {
            if (!py.HasExited) py.Kill();
        }
    }

    [Fact]
    public void Each_uid_has_its_own_region_shared_by_its_processes()
    {
        var fs = new FmmapFileSystem(Size);
        using var m = Mount(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return; // reads the server's pages as the clients write them
        using var rootA = MmapClientProcess.Start();
        using var rootB = MmapClientProcess.Start();
        using var nobody = MmapClientProcess.Start(asNobody: true);
        foreach (var c in new[] { rootA, rootB, nobody })
        {
            c.Ok($"open {Buffer(m)}");
            c.Ok($"map {Size}");
        }
        rootA.Ok("write 0 root-data");
        nobody.Ok("write 0 nobody-data");
        Assert.Equal("root-data", rootB.Ok("read 0 9"));      // same UID: shared
        Assert.Equal("nobody-data", nobody.Ok("read 0 11"));  // other UID: isolated
        Assert.Equal("root-data", Encoding.ASCII.GetString(fs.RegionFor("uid:0")!.GetSpan(0, 9)));
        Assert.Equal("nobody-data", Encoding.ASCII.GetString(fs.RegionFor("uid:65534")!.GetSpan(0, 11)));
        Assert.Equal(2, fs.AddressSpace.Usage.Regions);
    }

    [Fact]
    public void Last_release_is_noticed_and_a_mapping_outlives_its_freed_region()
    {
        var fs = new FmmapFileSystem(Size);
        var released = new TaskCompletionSource<MmapRegion>(TaskCreationOptions.RunContinuationsAsynchronously);
        fs.AddressSpace.LastClientReleased += r => released.TrySetResult(r);
        using var m = Mount(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return; // a mapping outliving its region is the zero-copy path's
        using var a = MmapClientProcess.Start();
        using var b = MmapClientProcess.Start();
        a.Ok($"open {Buffer(m)}");
        a.Ok($"map {Size}");
        b.Ok($"open {Buffer(m)}");
        var region = fs.RegionFor("uid:0")!;
        Assert.Equal(2, region.ClientOpens);
        b.Ok("close");
        Assert.False(released.Task.Wait(300), "notice came before the last release");
        a.Ok("write 0 kept");
        a.Ok("close"); // the mapping stays: with passthrough it holds the backing file, not the FUSE file
        Assert.True(released.Task.Wait(Patience.Seconds(10)), "no last-release notice");
        Assert.Same(region, released.Task.Result);
        Assert.True(region.IsDestroyed); // freed after its last user, as in the 2010 patch
        Assert.Equal(0, fs.AddressSpace.Usage.Regions);
        // Nothing was pulled from under the client: its pages are still there and still writable.
        Assert.Equal("kept", a.Ok("read 0 4"));
        a.Ok("write 8 still-writable");
        Assert.Equal("still-writable", a.Ok("read 8 14"));
    }

    [Fact]
    public void Quota_exceeded_refuses_the_open_with_EDQUOT()
    {
        var fs = new FmmapFileSystem(Size, spaceOptions: new MmapAddressSpaceOptions { Quota = Size + Size / 2 });
        using var m = Mount(fs);
        using var root = MmapClientProcess.Start();
        using var nobody = MmapClientProcess.Start(asNobody: true);
        root.Ok($"open {Buffer(m)}");
        Assert.Equal($"error {EDQUOT}", nobody.Send($"open {Buffer(m)}"));
        root.Ok("close");
        Assert.True(SpinWait.SpinUntil(() => fs.AddressSpace.Usage.Regions == 0, Patience.Milliseconds(5000)));
        nobody.Ok($"open {Buffer(m)}"); // the quota came back with the freed region
    }

    [Fact]
    public void Clients_can_neither_grow_nor_shrink_a_region()
    {
        var fs = new FmmapFileSystem(Size);
        using var m = Mount(fs);
        using var c = MmapClientProcess.Start();
        c.Ok($"open {Buffer(m)}");
        c.Ok($"map {Size}");
        c.Ok($"write {Size - 3} end");
        Assert.Equal($"error {EPERM}", c.Send($"pwrite {Size} past-the-end"));
        // A write crossing the end writes up to the end on 6.18 and is refused whole (EPERM) on 6.12, by the
        // memfd's seal either way: nothing lands past the end (kernel-facts, "Other kernels").
        string crossing = c.Send($"pwrite {Size - 3} crossing");
        Assert.Contains(crossing, new[] { "ok 3", $"error {EPERM}" });
        Assert.Equal($"error {EPERM}", c.Send("truncate 4096"));
        Assert.Equal($"error {EPERM}", c.Send($"truncate {2 * Size}"));
        var region = fs.RegionFor("uid:0")!;
        Assert.Equal(Size, region.Size);
        Assert.Equal(crossing == "ok 3" ? "cro" : "end", Encoding.ASCII.GetString(region.GetSpan(Size - 3, 3)));
        Assert.Equal(Size.ToString(), Run.Process("stat", "-c", "%s", Buffer(m)).EnsureSuccess("stat").StdOut.Trim());
    }

    [Fact]
    public void Page_cache_mode_syncs_with_store_and_retrieve()
    {
        var fs = new FmmapFileSystem(Size, mode: DirectMmapMode.PageCache);
        using var m = Mount(fs);
        Assert.Equal(DirectMmapMode.PageCache, fs.Binder.Mode);
        using var c = MmapClientProcess.Start();
        c.Ok($"open {Buffer(m)}");
        c.Ok($"map {Size}");
        c.Ok("write 10 from-client");           // faults the page in (READ), dirty in the page cache
        var region = fs.RegionFor("uid:0")!;
        Assert.True(fs.ReadRequests > 0);
        fs.Binder.PullAsync(region).Wait(Patience.Seconds(10)); // NOTIFY_RETRIEVE
        Assert.Equal("from-client", Encoding.ASCII.GetString(region.GetSpan(10, 11)));
        "from-server"u8.CopyTo(region.GetSpan(100, 11));
        Assert.Equal(1, fs.Binder.SyncAsync(region).Result); // NOTIFY_STORE of the one changed page
        Assert.Equal("from-server", c.Ok("read 100 11"));
        Assert.Equal("from-client", c.Ok("read 10 11"));  // the client's own bytes survived the store
        // The writeback of the stored page later carries the same bytes: it must not undo newer server writes.
        "newer"u8.CopyTo(region.GetSpan(100, 5));
        Run.Process("sync").EnsureSuccess("sync");
        Assert.Equal("newer", Encoding.ASCII.GetString(region.GetSpan(100, 5)));
    }

    [Fact]
    public void Without_mmap_support_MAP_SHARED_is_refused_and_MAP_PRIVATE_works()
    {
        var fs = new FmmapFileSystem(Size, mode: DirectMmapMode.None);
        using var m = Mount(fs);
        using var c = MmapClientProcess.Start();
        c.Ok($"open {Buffer(m)}");
        Assert.Equal($"error {ENODEV}", c.Send($"map {Size}"));
        c.Ok($"map {Size} private");
        c.Ok("write 0 private-copy");
        Assert.Equal("private-copy", c.Ok("read 0 12"));
        Assert.Equal(0, fs.RegionFor("uid:0")!.GetSpan(0, 1)[0]); // a private mapping never reaches the region
    }

    [Fact]
    public void A_client_killed_while_mapping_releases_its_region_and_the_next_client_works()
    {
        var fs = new FmmapFileSystem(Size);
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fs.AddressSpace.LastClientReleased += _ => released.TrySetResult();
        using var m = Mount(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return; // checks the next client's bytes in the server's pages at once
        using (var doomed = MmapClientProcess.Start())
        {
            doomed.Ok($"open {Buffer(m)}");
            doomed.Ok($"map {Size}");
            doomed.Ok("write 0 before-death");
            doomed.Kill();
        }
        Assert.True(released.Task.Wait(Patience.Seconds(10)), "no release after the client died");
        using var next = MmapClientProcess.Start();
        next.Ok($"open {Buffer(m)}");
        next.Ok($"map {Size}");
        next.Ok("write 0 next");
        Assert.Equal("next", Encoding.ASCII.GetString(fs.RegionFor("uid:0")!.GetSpan(0, 4)));
    }

    /// <summary>
    /// The 2010 patch marked direct mappings DONT_COPY. Through passthrough a client's mapping is an ordinary
    /// shared mapping, so a forked child inherits it and shares the pages (only the client itself could opt
    /// out with madvise(MADV_DONTFORK)). What the child's mapping keeps alive is the memory: the server's region
    /// is freed at the last release (here python's mmap module holds a duplicate fd, so that comes late), yet
    /// parent and child go on sharing the pages.
    /// </summary>
    [Fact]
    public void A_forked_child_inherits_the_shared_mapping()
    {
        var fs = new FmmapFileSystem(Size);
        using var m = Mount(fs);
        const string script = """
            import mmap, os, sys
            fd = os.open(sys.argv[1], os.O_RDWR)
            mm = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
            os.close(fd)
            pid = os.fork()
            if pid == 0:
                mm[0:5] = b'child'
                os._exit(0)
            os.waitpid(pid, 0)
            print(mm[0:5].decode())
            """;
        Assert.Equal("child", Run.PythonScript(script, Buffer(m)).EnsureSuccess("fork").StdOut.Trim());
    }
}
