namespace DirectFuse.Testing.Engine;

/// <summary>
/// The kernel's inodes, as far as the kit needs them: the type of each node it holds lookup references on. The
/// kernel marks an inode bad (EIO for good) when GETATTR reports another type than the entry that made it.
/// </summary>
internal sealed class NodeTypes
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, (FuseFileType Type, ulong Count)> _nodes = new() { [1] = (FuseFileType.Directory, ulong.MaxValue) };

    /// <summary>An entry reply took one more reference on <paramref name="node"/>.</summary>
    public void Referenced(ulong node, FuseFileType type)
    {
        lock (_lock)
        {
            if (node == 1) return;
            _nodes[node] = _nodes.TryGetValue(node, out var known) ? (type, known.Count + 1) : (type, 1);
        }
    }

    /// <summary>FORGET returned <paramref name="count"/> references.</summary>
    public void Forgotten(ulong node, ulong count)
    {
        lock (_lock)
        {
            if (node == 1 || !_nodes.TryGetValue(node, out var known)) return;
            if (known.Count <= count) _nodes.Remove(node);
            else _nodes[node] = (known.Type, known.Count - count);
        }
    }

    /// <summary>The references the kernel holds on <paramref name="node"/> (what it would return with FORGET).</summary>
    public ulong LookupCount(ulong node)
    {
        lock (_lock) return _nodes.TryGetValue(node, out var known) ? known.Count : 0;
    }

    /// <summary>The type the kernel knows <paramref name="node"/> by, if it holds it.</summary>
    public FuseFileType? TypeOf(ulong node)
    {
        lock (_lock) return _nodes.TryGetValue(node, out var known) ? known.Type : null;
    }
}
