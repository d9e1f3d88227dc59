using DirectFuse.DirectMmap;
using DirectFuse.Interop;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>Resizable regions: length changes in place, the quota follows, the mapping never moves, and handing the memfd out seals it.</summary>
public sealed unsafe class ResizableRegionTests
{
    private static readonly int Page = MmapAddressSpace.PageSize;

    [Fact]
    public void Growth_keeps_the_data_and_old_spans_and_charges_the_quota_once()
    {
        using var space = new MmapAddressSpace(new MmapAddressSpaceOptions { Quota = 16L * Page });
        var r = space.CreateRegion(Page, length: 10, resizable: true);
        r.GetSpan(0, 5).Fill(0x5A);
        var span = r.GetSpan(0, 5); // taken before growth: still valid after it, and the same pages
        Assert.True(space.TryResize(r, 16L * Page));
        Assert.Equal(16L * Page, r.Length);
        Assert.Equal(16L * Page, space.Usage.Reserved);
        Assert.Equal(0x5A, span[4]);
        span[1] = 0x77;
        Assert.Equal(0x77, r.GetSpan(1, 1)[0]);
        r.GetSpan(16L * Page - 1, 1)[0] = 1; // the new end is writable
        Assert.Equal(Errno.EDQUOT, Assert.Throws<FuseException>(() => space.TryResize(r, 16L * Page + 1)).Errno);
        Assert.True(space.TryResize(r, 3));
        Assert.Equal(Page, space.Usage.Reserved);
        Assert.True(space.TryResize(r, 2L * Page));
        Assert.Equal(0x5A, r.GetSpan(2, 1)[0]);
        Assert.Equal(0, r.GetSpan(3, 1)[0]); // truncated bytes come back as zeros
    }

    [Fact]
    public void A_region_that_outgrows_its_gap_moves_and_the_view_follows()
    {
        using var space = new MmapAddressSpace();
        var a = space.CreateRegion(Page, resizable: true);
        var b = space.CreateRegion(Page);
        Assert.Equal(Page, b.Offset);
        nint view = space.MapView();
        a.Span[0] = 0x11;
        Assert.True(space.TryResize(a, 3L * Page));
        Assert.True(a.Offset >= b.End);
        Assert.True(space.TryFind(a.Offset + 2L * Page, out var found) && found == a);
        Assert.False(space.TryFind(0, out _));
        Assert.Equal(0x11, ((byte*)view)[a.Offset]);
        a.GetSpan(2L * Page, 1)[0] = 0x22;
        Assert.Equal(0x22, ((byte*)view)[a.Offset + 2L * Page]);
        // Offsets were kept free for it to double: growing a little more does not move it again.
        long offset = a.Offset;
        Assert.True(space.TryResize(a, 4L * Page));
        Assert.Equal(offset, a.Offset);
        Assert.Equal(0, space.CreateRegion(Page).Offset); // its old offsets are free again
    }

    [Fact]
    public void Handing_the_memfd_out_seals_it_and_resizing_then_needs_a_new_region()
    {
        using var space = new MmapAddressSpace();
        var r = space.CreateRegion(Page, resizable: true);
        Assert.True(r.IsResizable);
        int fd = (int)r.Memfd.DangerousGetHandle(); // what the binder registers as a backing file
        Assert.Equal(Libc.F_SEAL_GROW | Libc.F_SEAL_SHRINK | Libc.F_SEAL_SEAL, Libc.fcntl(fd, Libc.F_GET_SEALS, 0));
        Assert.False(r.IsResizable);
        Assert.False(space.TryResize(r, 2L * Page));
        Assert.Equal(Page, r.Length);
        Assert.False(space.CreateRegion(Page).IsResizable);
    }

    [Fact]
    public void Growth_past_the_maximum_region_size_is_EFBIG()
    {
        using var space = new MmapAddressSpace(new MmapAddressSpaceOptions { MaxRegionSize = 4L * Page });
        var r = space.CreateRegion(Page, resizable: true);
        Assert.Equal(Errno.EFBIG, Assert.Throws<FuseException>(() => space.TryResize(r, 4L * Page + 1)).Errno);
        Assert.True(space.TryResize(r, 4L * Page));
    }
}
