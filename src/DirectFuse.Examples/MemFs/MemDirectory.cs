using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

/// <summary>A name in a directory. <see cref="Cookie"/> is its readdir offset and never changes while it exists.</summary>
internal sealed class DirEntry
{
    public DirEntry(string key, byte[] rawName, MemNode node, long cookie)
    {
        Key = key;
        RawName = rawName;
        Node = node;
        Cookie = cookie;
    }

    /// <summary>The Latin-1 decoded name (see <see cref="Names"/>).</summary>
    public string Key { get; }
    /// <summary>The name's bytes as the kernel sent them, for readdir.</summary>
    public byte[] RawName { get; }
    /// <summary>Replaced in place by rename over an existing name and by RENAME_EXCHANGE, which keeps the cookie.</summary>
    public MemNode Node;
    public long Cookie { get; }
    public bool Removed;
}

/// <summary>
/// A directory: a name index for lookups and a list ordered by cookie for readdir. Each new name gets the
/// next cookie, so the order is creation order and an offset the kernel hands back still means "after that
/// entry" even when entries before or after it were added or removed in between. Removed entries stay in
/// the list as tombstones until enough accumulate to compact (their cookies are never reused).
/// </summary>
internal sealed class MemDirectory : MemNode
{
    /// <summary>Offsets 1 and 2 are "." and "..".</summary>
    public const long FirstCookie = 3;
    private const int BogoDirentSize = 20; // what tmpfs reports per entry as the directory size

    private readonly Dictionary<string, DirEntry> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DirEntry>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<DirEntry> _order = [];
    private int _tombstones;
    private long _nextCookie = FirstCookie;

    public MemDirectory(ulong ino, uint mode, uint uid, uint gid, TimeSpec now, MemDirectory? parent) : base(ino, mode, uid, gid, now)
    {
        _lookup = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        Parent = parent;
        NLink = 2;
    }

    /// <summary>The directory holding this one (null for the root, whose ".." is itself).</summary>
    public MemDirectory? Parent;

    public int Count => _byName.Count;

    public override long Size => (Count + 2L) * BogoDirentSize;

    public DirEntry? Get(ReadOnlySpan<char> key) => _lookup.TryGetValue(key, out var entry) ? entry : null;

    public DirEntry Add(ReadOnlySpan<char> key, MemNode node)
    {
        string name = key.ToString();
        var entry = new DirEntry(name, Names.ToBytes(key), node, _nextCookie++);
        _byName.Add(name, entry);
        _order.Add(entry); // cookies only grow, so appending keeps the list sorted
        return entry;
    }

    public void Remove(DirEntry entry)
    {
        _byName.Remove(entry.Key);
        entry.Removed = true;
        if (++_tombstones > 64 && _tombstones > _order.Count / 2) Compact();
    }

    /// <summary>Entries in cookie order, tombstones included (skip <see cref="DirEntry.Removed"/>).</summary>
    public int OrderCount => _order.Count;

    public DirEntry OrderAt(int index) => _order[index];

    /// <summary>The list position of the first entry whose cookie is greater than <paramref name="offset"/>.</summary>
    public int IndexAfter(long offset)
    {
        int lo = 0, hi = _order.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_order[mid].Cookie <= offset) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private void Compact()
    {
        int kept = 0;
        for (int i = 0; i < _order.Count; i++)
            if (!_order[i].Removed) _order[kept++] = _order[i];
        _order.RemoveRange(kept, _order.Count - kept);
        _tombstones = 0;
    }
}
