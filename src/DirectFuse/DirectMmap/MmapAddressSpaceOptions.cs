namespace DirectFuse.DirectMmap;

/// <summary>Limits of a direct-mmap address space. Regions pin memory; these keep a careless server (or its clients) from draining it.</summary>
public sealed record MmapAddressSpaceOptions
{
    /// <summary>Most bytes all regions together may reserve.</summary>
    public long Quota { get; init; } = 1L << 30;
    /// <summary>Largest single region.</summary>
    public long MaxRegionSize { get; init; } = 1L << 30;
    /// <summary>Offsets run from 0 to this (exclusive); also the size of the contiguous view's virtual reservation.</summary>
    public long Limit { get; init; } = 1L << 40;
    /// <summary>
    /// What names the space in the <c>directfuse.mmap.reserved</c> and <c>directfuse.mmap.resident</c> gauges
    /// (<see cref="Session.FuseTelemetry"/>), typically the mount point it serves; empty by default.
    /// </summary>
    public string Name { get; init; } = "";
}

/// <summary>What happens to a region when the last client open and the last server handle are gone.</summary>
public enum RegionLifetime
{
    /// <summary>The region stays until the server destroys it (its data survives the clients).</summary>
    KeepUntilDestroyed,
    /// <summary>The region is destroyed after its last user, as the 2010 patch freed a region at the last munmap.</summary>
    FreeAfterLastUser,
}

/// <summary>Counters for one region or the whole space.</summary>
public readonly record struct MmapUsage(int Regions, long Reserved, long Resident, long Quota);
