using DirectFuse.Cli.Interop;

namespace DirectFuse.Cli.Output;

/// <summary>
/// A write-only stream on a descriptor number, written with write(2). Not a FileStream: that one keeps its own
/// file position (pwrite), so two of them on a shared log file (<c>&gt;log 2&gt;&amp;1</c>) would overwrite each
/// other; write(2) appends at the shared offset, as every other writer of the descriptor does.
/// </summary>
internal sealed class DescriptorStream(int fd) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Native.WriteAll(fd, buffer)) throw new IOException($"write to descriptor {fd} failed (errno {Native.LastErrno})");
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
