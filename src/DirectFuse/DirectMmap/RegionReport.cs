using System.Text.Json;
using System.Text.Json.Serialization;

namespace DirectFuse.DirectMmap;

/// <summary>One region as the <c>regions</c> command shows it.</summary>
public sealed record RegionInfo(
    long Offset, long Size, long Length, long Resident, string? ShareKey, int ClientOpens, int ServerHandles, string? Label);

/// <summary>A running server's regions and totals against its quota.</summary>
public sealed record RegionReport(
    string MountPoint, string Mode, string ModeReason, long Quota, long Reserved, long Resident, IReadOnlyList<RegionInfo> Regions)
{
    /// <summary>Takes a snapshot of <paramref name="binder"/>'s address space; <paramref name="label"/> names a region (a path, say).</summary>
    public static RegionReport Capture(string mountPoint, RegionBinder binder, Func<MmapRegion, string?>? label = null)
    {
        var regions = binder.AddressSpace.Regions
            .Select(r => new RegionInfo(r.Offset, r.Size, r.Length, r.ResidentBytes, r.ShareKey, r.ClientOpens, r.ServerHandles, label?.Invoke(r)))
            .ToList();
        var usage = binder.AddressSpace.Usage;
        return new RegionReport(mountPoint, binder.Mode.ToString(), binder.ModeReason, usage.Quota, usage.Reserved,
            regions.Sum(r => r.Resident), regions);
    }

    /// <summary>The report as indented camelCase JSON: what the region socket sends and <c>directfuse regions --json</c> prints.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RegionReportJson.Default.RegionReport);
}

/// <summary>
/// The report's JSON form. A report comes from another process, so reading it insists on every member and on
/// non-null strings and lists where the model says so.
/// </summary>
[JsonSerializable(typeof(RegionReport))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
internal sealed partial class RegionReportJson : JsonSerializerContext;
