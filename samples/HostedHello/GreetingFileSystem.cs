using System.Text;
using DirectFuse.LowLevel;
using DirectFuse.PathApi;

namespace DirectFuse.Samples.HostedHello;

/// <summary>A read-only file system with one file, <c>/greeting</c>.</summary>
internal sealed class GreetingFileSystem(string greeting) : PathFileSystem
{
    private readonly byte[] _text = Encoding.UTF8.GetBytes(greeting);

    public override ValueTask<Result<FileAttr>> GetAttrAsync(string path, FileHandle? handle, PathContext context) => new(path switch
    {
        "/" => new FileAttr { Mode = StatMode.Directory | 0x1ED /* 0755 */, NLink = 2 },
        "/greeting" => new FileAttr { Mode = StatMode.Regular | 0x124 /* 0444 */, Size = _text.Length },
        _ => Errno.ENOENT,
    });

    public override ValueTask<Result<int>> ReadAsync(string path, FileHandle handle, long offset, Memory<byte> buffer, PathContext context)
    {
        var rest = _text.AsSpan((int)Math.Min(offset, _text.Length));
        int n = Math.Min(rest.Length, buffer.Length);
        rest[..n].CopyTo(buffer.Span);
        return new(n);
    }

    public override ValueTask<Errno> ReadDirAsync(string path, FileHandle handle, long offset, DirectoryFiller filler, PathContext context)
    {
        if (path != "/") return new(Errno.ENOTDIR);
        filler.Add("greeting", StatMode.Regular);
        return new(Errno.Ok);
    }
}
