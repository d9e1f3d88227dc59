using DirectFuse.LowLevel;

namespace DirectFuse.DirectMmap;

/// <summary>
/// Node ids for files whose region depends on the caller: one node per (file, share key). LOOKUP of one
/// name returns the caller's node (with zero entry and attribute timeouts so the kernel asks again for every
/// caller); the kernel then opens that node, and its one backing file is the caller's region.
/// </summary>
public sealed class CallerNodeTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(ulong File, string Key), Entry> _byKey = [];
    private readonly Dictionary<ulong, Entry> _byNode = [];
    private ulong _next;

    /// <param name="firstNodeId">Start of the node id range this table hands out; the file system keeps its own ids below it.</param>
    public CallerNodeTable(ulong firstNodeId = 1UL << 40) => _next = firstNodeId;

    private sealed class Entry(NodeId node, ulong file, string key)
    {
        public NodeId Node { get; } = node;
        public ulong File { get; } = file;
        public string Key { get; } = key;
        public ulong Lookups;
    }

    /// <summary>The node for (<paramref name="file"/>, <paramref name="key"/>), counting one lookup.</summary>
    public NodeId Lookup(ulong file, string key)
    {
        lock (_lock)
        {
            if (!_byKey.TryGetValue((file, key), out var e))
            {
                e = new Entry(new NodeId(_next++), file, key);
                _byKey[(file, key)] = e;
                _byNode[e.Node.Value] = e;
            }
            e.Lookups++;
            return e.Node;
        }
    }

    /// <summary>
    /// The file and share key a node of this table stands for; false (and 0, "") for a node id the table did not hand
    /// out or that was forgotten.
    /// </summary>
    public bool TryGet(NodeId node, out ulong file, out string key)
    {
        lock (_lock)
            if (_byNode.TryGetValue(node.Value, out var e))
            {
                (file, key) = (e.File, e.Key);
                return true;
            }
        (file, key) = (0, "");
        return false;
    }

    /// <summary>FORGET: returns true when the node is gone.</summary>
    public bool Forget(NodeId node, ulong count)
    {
        lock (_lock)
        {
            if (!_byNode.TryGetValue(node.Value, out var e)) return false;
            e.Lookups = count >= e.Lookups ? 0 : e.Lookups - count;
            if (e.Lookups > 0) return false;
            _byNode.Remove(node.Value);
            _byKey.Remove((e.File, e.Key));
            return true;
        }
    }

    /// <summary>Nodes the kernel still holds (looked up and not yet forgotten).</summary>
    public int Count { get { lock (_lock) return _byNode.Count; } }
}
