using DirectFuse.DirectMmap;
using DirectFuse.Examples.Fmmap;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.DirectMmap;

public sealed class RegionPolicyTests
{
    private static readonly int Page = MmapAddressSpace.PageSize;
    // Alice calls from this test process's main thread, so her process is ours.
    private static readonly RegionCaller Alice = new(1000, 100, (uint)Environment.ProcessId, null);
    private static readonly string OurProcess = $"{Environment.ProcessId}:{RegionKeyTests.StartTimeOf($"/proc/{Environment.ProcessId}/stat")}";

    [Fact]
    public void Built_in_policies_choose_keys_and_round_sizes_to_pages()
    {
        Assert.Equal(("shared", 2L * Page), RegionPolicy.Shared(Page + 1).Resolve(Alice));
        Assert.Equal(("uid:1000", (long)Page), RegionPolicy.PerUid(Page).Resolve(Alice));
        Assert.Equal(($"pid:1000:{OurProcess}", (long)Page), RegionPolicy.PerProcess(Page).Resolve(Alice));
    }

    [Fact]
    public void Callback_key_and_size_are_both_optional()
    {
        var policy = RegionPolicy.FromCallback(3 * Page, c => c.Uid == 0 ? new RegionChoice("root", 1) : new RegionChoice());
        Assert.Equal(("root", (long)Page), policy.Resolve(Alice with { Uid = 0 }));
        // No key: a region private to the caller's process; no size: the default.
        Assert.Equal(($"private:pid:1000:{OurProcess}", 3L * Page), policy.Resolve(Alice));
        Assert.Throws<FuseException>(() => RegionPolicy.FromCallback(Page, _ => new RegionChoice("x", 0)).Resolve(Alice));
    }

    [Fact]
    public void Shmlba_redirection_keeps_the_requested_alignment()
    {
        using var space = new MmapAddressSpace();
        var region = space.CreateRegion(4 * Page, offset: 8L * MmapAddressSpace.Shmlba);
        for (long requested = 0; requested < region.Size; requested += 512)
            Assert.Equal(requested % MmapAddressSpace.Shmlba, MmapAddressSpace.Redirect(region, requested) % MmapAddressSpace.Shmlba);
        Assert.Throws<ArgumentOutOfRangeException>(() => MmapAddressSpace.Redirect(region, region.Size));
    }

    [Fact]
    public void Per_process_regions_are_shared_by_the_threads_of_one_process()
    {
        var fs = new FmmapFileSystem(1 << 16, RegionPolicy.PerProcess(1 << 16));
        var created = new List<string?>();
        fs.AddressSpace.RegionDestroyed += r => { lock (created) created.Add(r.ShareKey); };
        using var m = TempMount.Create(fs);
        const string script = """
            import mmap, os, sys, threading
            p = sys.argv[1]
            maps = []
            def open_and_map():
                fd = os.open(p, os.O_RDWR)
                maps.append(mmap.mmap(fd, 65536, mmap.MAP_SHARED))
            t = threading.Thread(target=open_and_map); t.start(); t.join()
            open_and_map()
            maps[0][0:6] = b'thread'
            stat = open('/proc/self/stat').read()
            print(maps[1][0:6].decode(), os.getpid(), stat[stat.rindex(')') + 2:].split()[19])
            """;
        var output = Run.PythonScript(script, m[FmmapFileSystem.FileName]).EnsureSuccess("python threads").StdOut.Split();
        Assert.Equal("thread", output[0]);
        // Freed after the script's last release: one region, keyed by the process, not one per thread.
        Assert.True(SpinWait.SpinUntil(() => { lock (created) return created.Count > 0; }, Patience.Milliseconds(5000)));
        lock (created) Assert.Equal([$"pid:0:{output[1]}:{output[2]}"], created);
    }

    [Fact]
    public void A_node_serves_one_region_so_a_key_that_changes_at_open_is_refused()
    {
        // The key depends on the open mode, which LOOKUP cannot know: the kernel allows one backing file per
        // inode, so the open whose key differs from its node's is answered EBUSY.
        var policy = RegionPolicy.FromCallback(Page, c => new RegionChoice(c.OpenFlags is { } f && (f & 3) == 0 ? "readers" : "any"));
        var fs = new FmmapFileSystem(Page, policy);
        using var m = TempMount.Create(fs);
        Run.PythonScript("import os,sys; os.close(os.open(sys.argv[1], os.O_RDWR))", m[FmmapFileSystem.FileName]).EnsureSuccess("open with the lookup's key");
        var ro = Run.PythonScript("import os,sys; os.open(sys.argv[1], os.O_RDONLY)", m[FmmapFileSystem.FileName]);
        Assert.Contains("Device or resource busy", ro.StdErr);
    }
}
