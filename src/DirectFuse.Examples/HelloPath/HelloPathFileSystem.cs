using System.Text;
using DirectFuse.LowLevel;
using DirectFuse.PathApi;

namespace DirectFuse.Examples.HelloPath;

/// <summary>
/// The smallest useful path file system: read-only, with a text file <c>/hello</c> and an empty directory
/// <c>/dir</c>. Mount it with <c>FuseSession.Mount(new PathFileSystemAdapter(new HelloPathFileSystem()), "/mnt")</c>.
/// </summary>
public sealed class HelloPathFileSystem : PathFileSystem
{
    private static readonly byte[] Hello = Encoding.UTF8.GetBytes("Hello, World!\n");

    public override ValueTask<Result<FileAttr>> GetAttrAsync(string path, FileHandle? handle, PathContext context) => new(path switch
    {
        "/" or "/dir" => new FileAttr { Mode = StatMode.Directory | 0x1ED /* 0755 */, NLink = 2 },
        "/hello" => new FileAttr { Mode = StatMode.Regular | 0x124 /* 0444 */, Size = Hello.Length },
        _ => Errno.ENOENT,
    });

    public override ValueTask<Result<OpenReply>> OpenAsync(string path, int flags, PathContext context) =>
        new((flags & 3) == 0 ? new OpenReply(FileHandle.None) : Errno.EACCES); // O_RDONLY only

    public override ValueTask<Result<int>> ReadAsync(string path, FileHandle handle, long offset, Memory<byte> buffer, PathContext context)
    {
        var rest = Hello.AsSpan((int)Math.Min(offset, Hello.Length));
        int n = Math.Min(rest.Length, buffer.Length);
        rest[..n].CopyTo(buffer.Span);
        return new(n);
    }

    public override ValueTask<Errno> ReadDirAsync(string path, FileHandle handle, long offset, DirectoryFiller filler, PathContext context)
    {
        if (path == "/")
        {
            filler.Add("hello", StatMode.Regular);
            filler.Add("dir", StatMode.Directory);
        }
        return new(path is "/" or "/dir" ? Errno.Ok : Errno.ENOTDIR);
    }
}
