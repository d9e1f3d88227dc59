using DirectFuse.DirectMmap;
using DirectFuse.Interop;

namespace DirectFuse.Tests.DirectMmap;

public sealed unsafe class AddressSpaceTests
{
    private static readonly int Page = MmapAddressSpace.PageSize;

    [Fact]
    public void Overlapping_regions_are_refused_with_both_ranges_named()
    {
        using var space = new MmapAddressSpace();
        space.CreateRegion(4 * Page, offset: 4 * Page, shareKey: "first");
        var e = Assert.Throws<ArgumentException>(() => space.CreateRegion(4 * Page, offset: 6 * Page));
        Assert.Contains($"[0x{6 * Page:x}, 0x{10 * Page:x})", e.Message);
        Assert.Contains($"[0x{4 * Page:x}, 0x{8 * Page:x}) 'first'", e.Message);
        Assert.Throws<ArgumentException>(() => space.CreateRegion(2 * Page, offset: 3 * Page));
        space.CreateRegion(Page, offset: 3 * Page); // touching is not overlapping
        space.CreateRegion(Page, offset: 8 * Page);
    }

    [Fact]
    public void Sizes_are_page_multiples_and_offsets_SHMLBA_multiples()
    {
        using var space = new MmapAddressSpace();
        Assert.Contains("page size", Assert.Throws<ArgumentException>(() => space.CreateRegion(Page + 1)).Message);
        Assert.Contains("SHMLBA", Assert.Throws<ArgumentException>(() => space.CreateRegion(Page, offset: 100)).Message);
        Assert.Throws<ArgumentException>(() => space.CreateRegion(0));
        Assert.Equal(0, MmapAddressSpace.Shmlba % Page);
    }

    [Fact]
    public void Quota_and_region_maximum_are_enforced_with_clear_errors()
    {
        using var space = new MmapAddressSpace(new MmapAddressSpaceOptions { Quota = 8L * Page, MaxRegionSize = 6L * Page });
        var big = Assert.Throws<FuseException>(() => space.CreateRegion(7 * Page));
        Assert.Equal(Errno.EFBIG, big.Errno);
        var a = space.CreateRegion(6 * Page);
        var over = Assert.Throws<FuseException>(() => space.CreateRegion(4 * Page));
        Assert.Equal(Errno.EDQUOT, over.Errno);
        Assert.Contains("quota", over.Message);
        space.CreateRegion(2 * Page);
        space.Destroy(a);
        Assert.Equal(2L * Page, space.Usage.Reserved);
        space.CreateRegion(6 * Page); // the quota came back
    }

    [Fact]
    public void Lookup_by_offset_finds_the_containing_region_among_many()
    {
        using var space = new MmapAddressSpace(new MmapAddressSpaceOptions { Quota = 1L << 32 });
        var regions = new List<MmapRegion>();
        // Gaps of one page between regions of varying size.
        long at = Page;
        for (int i = 0; i < 500; i++)
        {
            long size = (1 + i % 3) * (long)Page;
            regions.Add(space.CreateRegion(size, offset: at, shareKey: i.ToString()));
            at += size + Page;
        }
        foreach (var r in regions)
        {
            Assert.True(space.TryFind(r.Offset, out var found) && found == r);
            Assert.True(space.TryFind(r.End - 1, out found) && found == r);
            Assert.False(space.TryFind(r.End, out _)); // the gap
        }
        Assert.False(space.TryFind(0, out _));
    }

    [Fact]
    public void Automatic_offsets_fill_the_lowest_gap()
    {
        using var space = new MmapAddressSpace();
        var a = space.CreateRegion(2 * Page);
        var b = space.CreateRegion(Page);
        Assert.Equal(0, a.Offset);
        Assert.Equal(2L * Page, b.Offset);
        space.Destroy(a);
        var c = space.CreateRegion(Page);
        Assert.Equal(0, c.Offset);
    }

    [Fact]
    public void Pages_are_allocated_on_first_touch_and_counted_as_resident()
    {
        using var space = new MmapAddressSpace();
        var r = space.CreateRegion(256 * Page);
        Assert.Equal(0, r.ResidentBytes);
        r.GetSpan(10 * Page, 1)[0] = 1;
        r.GetSpan(100 * Page, 2 * Page).Fill(7);
        Assert.Equal(3L * Page, r.ResidentBytes);
        Assert.Equal(3L * Page, space.Usage.Resident);
    }

    [Fact]
    public void The_view_shows_every_region_at_its_offset()
    {
        using var space = new MmapAddressSpace(new MmapAddressSpaceOptions { Limit = 1L << 30 });
        var a = space.CreateRegion(Page, offset: 0);
        nint view = space.MapView();
        var b = space.CreateRegion(2 * Page, offset: 16 * Page); // created after the view: mapped into it too
        a.Span[5] = 0xAA;
        b.GetSpan(Page + 3, 1)[0] = 0xBB;
        Assert.Equal(0xAA, ((byte*)view)[5]);
        Assert.Equal(0xBB, ((byte*)view)[16 * Page + Page + 3]);
        ((byte*)view)[16 * Page] = 0xCC; // and the other way round
        Assert.Equal(0xCC, b.Span[0]);
    }

    [Fact]
    public void Regions_are_sealed_against_resizing()
    {
        using var space = new MmapAddressSpace();
        var r = space.CreateRegion(2 * Page);
        int fd = (int)r.Memfd.DangerousGetHandle();
        Assert.NotEqual(0, Libc.ftruncate(fd, Page));
        Assert.Equal(Errno.EPERM, Errno.Last);
        Assert.NotEqual(0, Libc.ftruncate(fd, 4L * Page));
        int seals = Libc.fcntl(fd, Libc.F_GET_SEALS, 0);
        Assert.Equal(Libc.F_SEAL_GROW | Libc.F_SEAL_SHRINK | Libc.F_SEAL_SEAL, seals);
    }

    [Fact]
    public void Free_after_last_user_destroys_the_region_only_when_clients_and_server_let_go()
    {
        using var space = new MmapAddressSpace();
        var released = new List<MmapRegion>();
        var destroyed = new List<MmapRegion>();
        space.LastClientReleased += released.Add;
        space.RegionDestroyed += destroyed.Add;
        var r = space.CreateRegion(Page, lifetime: RegionLifetime.FreeAfterLastUser);
        var handle = r.AcquireServerHandle();
        r.AddClientOpen();
        r.AddClientOpen();
        space.OnClientReleased(r);
        Assert.Empty(released);
        space.OnClientReleased(r);
        Assert.Equal([r], released);
        Assert.Empty(destroyed); // the server still holds it
        handle.Dispose();
        Assert.Equal([r], destroyed);
        Assert.True(r.IsDestroyed);
        Assert.Equal(0, space.Usage.Regions);
    }

    [Fact]
    public void Keep_until_destroyed_survives_its_clients()
    {
        using var space = new MmapAddressSpace();
        var r = space.CreateRegion(Page);
        r.AddClientOpen();
        space.OnClientReleased(r);
        Assert.False(r.IsDestroyed);
        r.Span[0] = 1;
    }
}
