using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

/// <summary>
/// Receives the entries of a <see cref="PathFileSystem.ReadDirAsync"/> call (libfuse's <c>fuse_fill_dir_t</c>).
/// Use one of two styles per call, not both:
/// <list type="bullet">
/// <item><b>Whole listing</b> (simple): <see cref="Add(string, uint)"/> or <see cref="Add(string, in FileAttr)"/>
/// for every entry, ignoring the offset; they always return true. The adapter keeps the listing for the open
/// directory and answers the kernel's follow-up reads from it, refreshing it at offset 0 (rewinddir).</item>
/// <item><b>Own offsets</b>: <see cref="Add(string, uint, long)"/> or <see cref="Add(string, in FileAttr, long)"/>
/// for the entries after the requested offset, each with the (positive) offset that continues after it, until
/// one returns false because the kernel's buffer is full.</item>
/// </list>
/// </summary>
/// <remarks>
/// Entries given full attributes may be handed to the kernel as if looked up (READDIRPLUS, with
/// <see cref="PathFileSystemOptions.ReaddirPlus"/>), so the attributes must be complete and current; give only
/// the type (<see cref="StatMode"/> bits, or 0 for unknown) when they are not. The filler is valid only until
/// the ReadDir call's task completes.
/// </remarks>
public sealed class DirectoryFiller
{
    private readonly PathFileSystemAdapter _adapter;
    private readonly NodeId _directory;
    private readonly DirectoryBuffer _buffer;
    private List<ListedEntry>? _listing;
    private bool _ownOffsets;

    internal DirectoryFiller(PathFileSystemAdapter adapter, NodeId directory, DirectoryBuffer buffer)
    {
        _adapter = adapter;
        _directory = directory;
        _buffer = buffer;
    }

    /// <summary>One entry of a whole listing.</summary>
    internal readonly record struct ListedEntry(string Name, uint Mode, FileAttr? Attr);

    internal bool UsedOwnOffsets => _ownOffsets;
    internal List<ListedEntry>? Listing => _listing;

    /// <summary>Whole-listing style: an entry with its type (S_IF* bits of <see cref="StatMode"/>, or 0 if unknown). Returns true.</summary>
    public bool Add(string name, uint mode = 0) => Collect(new ListedEntry(CheckName(name), mode, null));

    /// <summary>Whole-listing style: an entry with its complete attributes. Returns true.</summary>
    public bool Add(string name, in FileAttr attr) => Collect(new ListedEntry(CheckName(name), attr.Mode, attr));

    /// <summary>Own-offsets style: an entry with its type; false (entry not added) when the buffer is full.</summary>
    public bool Add(string name, uint mode, long nextOffset) => Emit(name, mode, null, nextOffset);

    /// <summary>Own-offsets style: an entry with its complete attributes; false (entry not added) when the buffer is full.</summary>
    public bool Add(string name, in FileAttr attr, long nextOffset) => Emit(name, attr.Mode, attr, nextOffset);

    private bool Collect(in ListedEntry entry)
    {
        if (_ownOffsets) throw new InvalidOperationException("DirectoryFiller: an entry without an offset after entries with offsets.");
        (_listing ??= []).Add(entry);
        return true;
    }

    private bool Emit(string name, uint mode, FileAttr? attr, long nextOffset)
    {
        CheckName(name);
        if (_listing is not null) throw new InvalidOperationException("DirectoryFiller: an entry with an offset after entries without.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nextOffset);
        _ownOffsets = true;
        return _adapter.TryAddEntry(_buffer, _directory, name, mode, attr, nextOffset);
    }

    private static string CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/') || name.Contains('\0')) throw new ArgumentException($"'{name}' is not a file name.", nameof(name));
        return name;
    }
}
