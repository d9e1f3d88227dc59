using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

/// <summary>An in-memory file system with POSIX behaviour (placeholder until the full implementation lands).</summary>
public sealed class MemFileSystem : LowLevelFileSystem
{
}
