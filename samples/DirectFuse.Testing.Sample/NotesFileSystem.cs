using DirectFuse;
using DirectFuse.LowLevel;
using DirectFuse.PathApi;

namespace NotesSample;

/// <summary>
/// The file system under test: one flat directory of in-memory notes. Each note belongs to whoever created it
/// and has the mode it was created with; the file system enforces that itself with Linux's rules
/// (<see cref="PathContext.CheckOpen"/>), so it needs no <c>default_permissions</c>.
/// </summary>
public sealed class NotesFileSystem : PathFileSystem
{
    private sealed class Note
    {
        public byte[] Data = [];
        public FileAttr Attr;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Note> _notes = [];
    private readonly FileAttr _root = new() { Mode = StatMode.Directory | 0x1FF /* 0777 */, NLink = 2 };

    public override ValueTask<Result<FileAttr>> GetAttrAsync(string path, FileHandle? handle, PathContext context)
    {
        if (path == "/") return new(_root);
        lock (_lock) return new(_notes.TryGetValue(path, out var note) ? note.Attr with { Size = note.Data.Length } : Errno.ENOENT);
    }

    public override ValueTask<Result<OpenReply>> CreateAsync(string path, uint mode, int flags, PathContext context)
    {
        var denied = context.CheckCreate(_root);
        if (!denied.IsOk) return new(denied);
        lock (_lock)
        {
            if (_notes.ContainsKey(path)) return new(Errno.EEXIST);
            _notes[path] = new Note { Attr = new FileAttr { Mode = StatMode.Regular | (mode & 0xFFF), NLink = 1, Uid = context.Uid, Gid = context.Gid } };
        }
        return new(new OpenReply(FileHandle.None));
    }

    public override ValueTask<Result<OpenReply>> OpenAsync(string path, int flags, PathContext context)
    {
        lock (_lock)
        {
            if (!_notes.TryGetValue(path, out var note)) return new(Errno.ENOENT);
            var denied = context.CheckOpen(note.Attr, flags);
            return new(denied.IsOk ? new OpenReply(FileHandle.None) : denied);
        }
    }

    public override ValueTask<Result<int>> ReadAsync(string path, FileHandle handle, long offset, Memory<byte> buffer, PathContext context)
    {
        lock (_lock)
        {
            if (!_notes.TryGetValue(path, out var note)) return new(Errno.ENOENT);
            var rest = note.Data.AsSpan((int)Math.Min(offset, note.Data.Length));
            int n = Math.Min(rest.Length, buffer.Length);
            rest[..n].CopyTo(buffer.Span);
            return new(n);
        }
    }

    public override ValueTask<Result<int>> WriteAsync(string path, FileHandle handle, long offset, ReadOnlyMemory<byte> data, PathContext context)
    {
        lock (_lock)
        {
            if (!_notes.TryGetValue(path, out var note)) return new(Errno.ENOENT);
            long end = offset + data.Length;
            if (end > note.Data.Length) Array.Resize(ref note.Data, (int)end);
            data.Span.CopyTo(note.Data.AsSpan((int)offset));
            return new(data.Length);
        }
    }

    public override ValueTask<Errno> UnlinkAsync(string path, PathContext context)
    {
        lock (_lock) return new(_notes.Remove(path) ? Errno.Ok : Errno.ENOENT);
    }

    public override ValueTask<Errno> ReadDirAsync(string path, FileHandle handle, long offset, DirectoryFiller filler, PathContext context)
    {
        if (path != "/") return new(Errno.ENOTDIR);
        lock (_lock)
            foreach (var (name, note) in _notes)
                filler.Add(name[1..], note.Attr);
        return new(Errno.Ok);
    }
}
