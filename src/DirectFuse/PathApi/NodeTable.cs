using System.Text;
using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

/// <summary>
/// The adapter's map between the kernel's node ids and names: each node knows its parent and its name, so a
/// path is built on demand by walking up, and renaming a directory moves its whole subtree at once.
/// </summary>
/// <remarks>
/// Node ids come from a 64-bit counter and are never reused, so generation numbers stay 0. A node lives while
/// the kernel holds lookup references on it, or while nodes of the table still name it as their parent (the
/// kernel may forget a directory before the entries below it). One lock guards everything; it is never held
/// across a call into the file system.
/// </remarks>
internal sealed class NodeTable
{
    /// <summary>readdir's d_ino for a name the kernel has not looked up (libfuse's FUSE_UNKNOWN_INO).</summary>
    public const ulong UnknownIno = 0xffffffff;

    private sealed class Node(ulong id, uint type)
    {
        public readonly ulong Id = id;
        /// <summary>Null for the root and for nodes whose name was removed.</summary>
        public Node? Parent;
        public string Name = "";
        /// <summary>The path the node had when its name was removed; calls on its open handles still get it.</summary>
        public string? RemovedPath;
        public ulong Lookups;
        /// <summary>Open files (OPEN/CREATE not yet RELEASEd); such a file is hidden rather than unlinked.</summary>
        public int Opens;
        /// <summary>Attached nodes naming this one as their parent.</summary>
        public int Children;
        /// <summary>The S_IFMT bits seen when the node was created; a name whose type changes gets a new node.</summary>
        public uint Type = type;
        public bool Hidden;
    }

    /// <summary>Where a hidden file to delete now lives.</summary>
    public readonly record struct HiddenFile(NodeId Parent, string Name, string Path);

    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Node> _byId = [];
    private readonly Dictionary<(ulong Parent, string Name), Node> _byName = [];
    private readonly Node _root = new(NodeId.Root.Value, StatMode.Directory);
    private ulong _lastId = NodeId.Root.Value;
    private ulong _hiddenCounter;

    public NodeTable()
    {
        _root.Lookups = 1; // the kernel's own reference, never forgotten
        _byId[_root.Id] = _root;
    }

    /// <summary>Nodes in the table, the root included.</summary>
    public int Count
    {
        get { lock (_lock) return _byId.Count; }
    }

    /// <summary>Joins a directory path and a name.</summary>
    public static string Join(string directory, string name) => directory == "/" ? "/" + name : directory + "/" + name;

    /// <summary>
    /// The path of <paramref name="id"/>; null if the id is unknown or (unless <paramref name="allowRemoved"/>)
    /// the node or a directory above it has been removed.
    /// </summary>
    public string? GetPath(NodeId id, bool allowRemoved)
    {
        lock (_lock)
            return _byId.TryGetValue(id.Value, out var node) ? PathOf(node, allowRemoved) : null;
    }

    /// <summary>The node named <paramref name="name"/> in <paramref name="parent"/>, if the kernel knows it.</summary>
    public NodeId? Find(NodeId parent, string name)
    {
        lock (_lock)
            return _byName.TryGetValue((parent.Value, name), out var node) ? new NodeId(node.Id) : null;
    }

    /// <summary>True if the file named <paramref name="name"/> in <paramref name="parent"/> is open.</summary>
    public bool IsOpen(NodeId parent, string name)
    {
        lock (_lock)
            return _byName.TryGetValue((parent.Value, name), out var node) && node.Opens > 0;
    }

    /// <summary>
    /// For an entry reply: the node for <paramref name="name"/> in <paramref name="parent"/>, created if new
    /// (or if the name now has another file type), with one more lookup reference. Null if the parent is unknown.
    /// </summary>
    public NodeId? AddLookup(NodeId parent, string name, uint mode)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(parent.Value, out var dir)) return null;
            uint type = mode & StatMode.TypeMask;
            if (!_byName.TryGetValue((dir.Id, name), out var node) || (type != 0 && node.Type != type))
            {
                if (node is not null) Detach(node);
                node = new Node(++_lastId, type);
                _byId[node.Id] = node;
                Attach(node, dir, name);
            }
            node.Lookups++;
            return new NodeId(node.Id);
        }
    }

    /// <summary>FORGET: drops <paramref name="count"/> lookup references; the node goes when none are left.</summary>
    public void Forget(NodeId id, ulong count)
    {
        if (id.IsRoot) return;
        lock (_lock)
        {
            if (!_byId.TryGetValue(id.Value, out var node)) return;
            node.Lookups -= Math.Min(count, node.Lookups);
            Collect(node);
        }
    }

    /// <summary>After a successful unlink or rmdir: the name is gone; the node stays while the kernel holds it.</summary>
    public void Remove(NodeId parent, string name)
    {
        lock (_lock)
            if (_byName.TryGetValue((parent.Value, name), out var node)) Detach(node);
    }

    /// <summary>
    /// After a successful rename: moves the node (and so its subtree) to the new name, removing the node that
    /// was there, or with <paramref name="exchange"/> swaps the two.
    /// </summary>
    public void Rename(NodeId parent, string name, NodeId newParent, string newName, bool exchange)
    {
        lock (_lock) RenameLocked(parent, name, newParent, newName, exchange);
    }

    /// <summary>
    /// After the file system renamed an open file to a hidden name: moves the node there and marks it hidden.
    /// Returns the hidden file if it has been closed meanwhile and must be deleted now.
    /// </summary>
    public HiddenFile? MoveToHidden(NodeId parent, string name, string hiddenName)
    {
        lock (_lock)
        {
            RenameLocked(parent, name, parent, hiddenName, exchange: false);
            if (!_byName.TryGetValue((parent.Value, hiddenName), out var node)) return null;
            node.Hidden = true;
            return TakeHiddenIfClosed(node);
        }
    }

    /// <summary>A name for hiding an open file, unique within this mount.</summary>
    public string NewHiddenName(NodeId id) =>
        $".fuse_hidden{id.Value:x8}{Interlocked.Increment(ref _hiddenCounter):x8}";

    /// <summary>OPEN or CREATE succeeded.</summary>
    public void AddOpen(NodeId id)
    {
        lock (_lock)
            if (_byId.TryGetValue(id.Value, out var node)) node.Opens++;
    }

    /// <summary>RELEASE: one open file less. Returns the hidden file to delete if this was its last one.</summary>
    public HiddenFile? RemoveOpen(NodeId id)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(id.Value, out var node) || node.Opens == 0) return null;
            node.Opens--;
            return TakeHiddenIfClosed(node);
        }
    }

    private HiddenFile? TakeHiddenIfClosed(Node node)
    {
        if (!node.Hidden || node.Opens > 0 || node.Parent is null) return null;
        string? path = PathOf(node, allowRemoved: false);
        if (path is null) return null;
        node.Hidden = false; // deleted once
        return new HiddenFile(new NodeId(node.Parent.Id), node.Name, path);
    }

    private void RenameLocked(NodeId parent, string name, NodeId newParent, string newName, bool exchange)
    {
        _byName.TryGetValue((parent.Value, name), out var source);
        _byName.TryGetValue((newParent.Value, newName), out var target);
        if (source == target) return; // renaming a name onto itself (or two unknown names): nothing moves
        _byId.TryGetValue(parent.Value, out var oldDir);
        _byId.TryGetValue(newParent.Value, out var newDir);

        // Unhook both first and collect only at the end, so a directory whose child count drops to zero on
        // the way is not dropped while it is about to receive a node again.
        string? sourcePath = source is null ? null : PathOf(source, allowRemoved: true);
        string? targetPath = target is null ? null : PathOf(target, allowRemoved: true);
        if (source is not null) Unhook(source);
        if (target is not null)
        {
            if (exchange) Unhook(target);
            else Detach(target);
        }
        if (source is not null) Reattach(source, newDir, newName, sourcePath);
        if (exchange && target is not null) Reattach(target, oldDir, name, targetPath);
        Collect(oldDir);
    }

    private void Reattach(Node node, Node? directory, string name, string? oldPath)
    {
        node.Hidden = false;
        if (directory is not null)
        {
            Attach(node, directory, name);
            return;
        }
        // The destination directory is not in the table (the kernel never sends that): treat as removed.
        node.RemovedPath = oldPath;
        Collect(node);
    }

    private void Attach(Node node, Node parent, string name)
    {
        node.Parent = parent;
        node.Name = name;
        node.RemovedPath = null;
        parent.Children++;
        _byName[(parent.Id, name)] = node;
    }

    /// <summary>Takes the node off its name without collecting anything.</summary>
    private void Unhook(Node node)
    {
        var parent = node.Parent;
        if (parent is null) return;
        _byName.Remove((parent.Id, node.Name));
        parent.Children--;
        node.Parent = null;
    }

    /// <summary>The node's name is gone: remember its path for calls on its open handles, drop what is unreferenced.</summary>
    private void Detach(Node node)
    {
        var parent = node.Parent;
        if (parent is null) return;
        node.RemovedPath = PathOf(node, allowRemoved: true);
        Unhook(node);
        Collect(node);
        Collect(parent);
    }

    /// <summary>Removes the node if nothing refers to it any more, then its parent likewise.</summary>
    private void Collect(Node? node)
    {
        while (node is not null && node != _root && node.Lookups == 0 && node.Children == 0 && _byId.ContainsKey(node.Id))
        {
            _byId.Remove(node.Id);
            var parent = node.Parent;
            if (parent is null) return;
            _byName.Remove((parent.Id, node.Name));
            parent.Children--;
            node.Parent = null;
            node = parent;
        }
    }

    private string? PathOf(Node node, bool allowRemoved)
    {
        if (node == _root) return "/";
        // Walk up collecting names; a removed ancestor ends the walk at its remembered path.
        var names = new List<string>();
        string prefix = "";
        for (var n = node; n != _root; n = n.Parent)
        {
            if (n.Parent is null)
            {
                if (!allowRemoved || n.RemovedPath is null) return null;
                prefix = n.RemovedPath;
                break;
            }
            names.Add(n.Name);
        }
        var sb = new StringBuilder(prefix);
        for (int i = names.Count - 1; i >= 0; i--) sb.Append('/').Append(names[i]);
        return sb.ToString();
    }
}
