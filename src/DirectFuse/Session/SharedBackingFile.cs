namespace DirectFuse.Session;

/// <summary>
/// One backing file shared by all passthrough opens of one thing — a region, a device's buffer, a source file —
/// registered at the first open and closed when the last of those opens is released. Sharing is not optional:
/// the kernel refuses a second backing id for a FUSE inode that is open with one already.
/// </summary>
/// <remarks>
/// Not thread-safe: callers hold their own lock, under which they usually decide more than this (which mode an
/// open gets, whether a read-only backing file will do). Closing the id does not disturb files already open on
/// it, nor their mappings; the next open registers anew.
/// </remarks>
public sealed class SharedBackingFile
{
    private BackingFile? _file;

    /// <summary>Opens counted with <see cref="Acquire"/> and not yet released.</summary>
    public int Opens { get; private set; }

    /// <summary>Whether a backing file is registered now.</summary>
    public bool IsRegistered => _file is not null;

    /// <summary>
    /// Counts one more open and returns the backing id, registering the file with <paramref name="register"/>
    /// first if none is registered. Throws what <paramref name="register"/> throws (a <see cref="FuseException"/>
    /// when the kernel refuses), counting nothing then.
    /// </summary>
    public int Acquire<TState>(Func<TState, BackingFile> register, TState state)
    {
        _file ??= register(state);
        Opens++;
        return _file.Id;
    }

    /// <summary>Counts one more open of the backing file registered now (see <see cref="Register"/>).</summary>
    public int Acquire()
    {
        var file = _file ?? throw new InvalidOperationException("no backing file is registered");
        Opens++;
        return file.Id;
    }

    /// <summary>Registers <paramref name="file"/> without counting an open yet (for callers that decide after seeing it).</summary>
    public void Register(BackingFile file)
    {
        if (_file is not null) throw new InvalidOperationException("a backing file is registered already");
        _file = file;
    }

    /// <summary>Counts one open released; closes the backing id when it was the last. True when it closed.</summary>
    public bool Release()
    {
        if (Opens == 0) return false;
        if (--Opens > 0) return false;
        Close();
        return true;
    }

    /// <summary>Closes the backing id now, whatever the count (a registration no open ended up using).</summary>
    public void Close()
    {
        _file?.Dispose();
        _file = null;
        Opens = 0;
    }
}
