using DirectFuse.Interop;

namespace DirectFuse.Session;

/// <summary>
/// One file descriptor that carries FUSE messages: a /dev/fuse fd (or a clone of it), a /dev/cuse fd, or one
/// end of a SOCK_SEQPACKET socketpair in tests. Each read returns one whole request; each write sends one
/// whole reply. Methods return a negative errno instead of throwing: they run on every request.
/// </summary>
internal sealed unsafe class FuseChannel : IReplySink, IDisposable
{
    private int _fd;

    public FuseChannel(int fd, string description)
    {
        _fd = fd;
        Description = description;
    }

    public int Fd => _fd;
    public string Description { get; }

    /// <summary>Requests its worker has read from this fd (written by that worker only; a statistic).</summary>
    public long RequestsRead;

    /// <summary>An fd has no buffer of its own: replies are built in the request's and written whole.</summary>
    public Memory<byte> PayloadArea => Memory<byte>.Empty;

    /// <summary>Writes the reply; the payload always follows the header in <paramref name="message"/>.</summary>
    public int Send(ReadOnlySpan<byte> message, int payloadLength) => Write(message);

    /// <summary>Reads one request; returns its length, 0 at end of stream, or -errno.</summary>
    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            nint n = Libc.read(_fd, p, buffer.Length);
            return n >= 0 ? (int)n : -Libc.LastErrno;
        }
    }

    /// <summary>Writes one message; returns 0 or -errno.</summary>
    public int Write(ReadOnlySpan<byte> message)
    {
        fixed (byte* p = message)
        {
            nint n = Libc.write(_fd, p, message.Length);
            return n >= 0 ? 0 : -Libc.LastErrno;
        }
    }

    /// <summary>Writes one message made of two parts (header and payload) without copying them together.</summary>
    public int Write(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        fixed (byte* p1 = first)
        fixed (byte* p2 = second)
        {
            Libc.IoVec* iov = stackalloc Libc.IoVec[2];
            iov[0] = new Libc.IoVec { Base = p1, Len = first.Length };
            iov[1] = new Libc.IoVec { Base = p2, Len = second.Length };
            nint n = Libc.writev(_fd, iov, second.IsEmpty ? 1 : 2);
            return n >= 0 ? 0 : -Libc.LastErrno;
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) Libc.close(fd);
    }

    public override string ToString() => $"{Description} (fd {_fd})";
}
