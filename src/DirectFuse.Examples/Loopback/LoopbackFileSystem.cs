using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Loopback;

/// <summary>Mirrors a source directory (placeholder until the full implementation lands).</summary>
public sealed class LoopbackFileSystem : LowLevelFileSystem
{
    public LoopbackFileSystem(string source) => Source = source;
    public string Source { get; }
}
