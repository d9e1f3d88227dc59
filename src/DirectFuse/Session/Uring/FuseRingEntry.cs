using System.Runtime.InteropServices;
using DirectFuse.Interop;
using DirectFuse.Protocol;

namespace DirectFuse.Session.Uring;

/// <summary>
/// One ring entry: the header and payload buffers registered with the kernel (FUSE_IO_URING_CMD_REGISTER),
/// the request object that serves what arrives in them, and the reply sink that answers into them for the next
/// COMMIT_AND_FETCH.
/// </summary>
/// <remarks>
/// The kernel splits a request: <c>fuse_in_header</c> at the start of the header buffer, the opcode's fixed
/// argument struct (<c>op_in</c>, up to 128 bytes) at offset 128, and everything after it in the payload buffer,
/// whose size it writes into <c>fuse_uring_ent_in_out.payload_sz</c>. The payload buffer is preceded by
/// <see cref="Headroom"/> bytes of our own, so the header and op_in can be copied in front of the payload and the
/// dispatcher sees the same contiguous request a read(2) of /dev/fuse returns, without copying a large WRITE.
/// A reply goes the other way: the out header at the start of the header buffer, its payload in the payload
/// buffer, its length in payload_sz.
/// </remarks>
internal sealed unsafe class FuseRingEntry : IReplySink
{
    /// <summary>sizeof(struct fuse_uring_req_header): in_out[128], op_in[128], fuse_uring_ent_in_out (32).</summary>
    public const int HeaderStructSize = 288;
    private const int OpInOffset = 128, EntInOutOffset = 256;
    private const int OpInMax = 128;
    // fuse_uring_ent_in_out: flags u64, commit_id u64, payload_sz u32.
    private const int CommitIdOffset = EntInOutOffset + 8, PayloadSzOffset = EntInOutOffset + 16;
    // The iovec pair handed to REGISTER lives after the header struct, in the same page.
    private const int IovOffset = 512;
    /// <summary>Room in front of the payload for the header and op_in of a request served in place.</summary>
    public const int Headroom = 4096;

    private readonly NativeBuffer _header;
    private readonly NativeBuffer _block;
    private readonly Memory<byte> _payloadArea;

    public FuseRingEntry(int index, int payloadSize, FuseRequest request)
    {
        Index = index;
        PayloadSize = payloadSize;
        _header = new NativeBuffer(Environment.SystemPageSize);
        _block = new NativeBuffer(Headroom + payloadSize);
        if (_header.Pointer is null || _block.Pointer is null)
        {
            Free();
            throw new OutOfMemoryException("ring entry buffers");
        }
        _header.GetSpan().Clear();
        _payloadArea = _block.Memory.Slice(Headroom, payloadSize);
        var iov = (Libc.IoVec*)(_header.Pointer + IovOffset);
        iov[0] = new Libc.IoVec { Base = _header.Pointer, Len = HeaderStructSize };
        iov[1] = new Libc.IoVec { Base = _block.Pointer + Headroom, Len = payloadSize };
        Request = request;
        request.Sink = this;
    }

    /// <summary>The entry's number in its queue (the completion's user_data).</summary>
    public int Index { get; }
    /// <summary>Bytes of the payload buffer (at least the kernel's max_payload_sz).</summary>
    public int PayloadSize { get; }
    /// <summary>The request object this entry serves with, for its whole life.</summary>
    public FuseRequest Request { get; }
    /// <summary>Where the entry is now.</summary>
    public RingEntryState State { get; set; }
    /// <summary>The command last submitted for it (to submit again after EAGAIN/EINTR).</summary>
    public uint LastCommand { get; set; }
    /// <summary>Registrations after the kernel dropped the entry (a failed commit); bounded.</summary>
    public int Reregistrations { get; set; }
    /// <summary>The kernel's id of the request in the entry, echoed by COMMIT_AND_FETCH.</summary>
    public ulong CommitId { get; private set; }
    /// <summary>True once a reply has been written for the current request.</summary>
    public bool ReplyWritten { get; private set; }
    /// <summary>The address of the iovec pair for REGISTER.</summary>
    public nint IoVecs => (nint)(_header.Pointer + IovOffset);

    public Memory<byte> PayloadArea => _payloadArea;

    /// <summary>
    /// Makes the request the kernel just delivered contiguous in the entry's memory. False (and nothing to
    /// serve) when the sizes the kernel wrote do not add up: the caller answers it with EIO.
    /// </summary>
    public bool TakeRequest(out Memory<byte> request)
    {
        byte* h = _header.Pointer;
        CommitId = *(ulong*)(h + CommitIdOffset);
        ReplyWritten = false;
        request = default;
        var inHeader = MemoryMarshal.Read<FuseInHeader>(new ReadOnlySpan<byte>(h, FuseInHeader.Size));
        uint payload = *(uint*)(h + PayloadSzOffset);
        // len = in_header + op_in + payload; op_in's size is not sent, it is what remains.
        if (payload > (uint)PayloadSize || inHeader.Len < FuseInHeader.Size + payload) return false;
        uint opIn = inHeader.Len - FuseInHeader.Size - payload;
        if (opIn > OpInMax) return false;
        int start = Headroom - FuseInHeader.Size - (int)opIn;
        byte* linear = _block.Pointer + start;
        Buffer.MemoryCopy(h, linear, FuseInHeader.Size, FuseInHeader.Size);
        Buffer.MemoryCopy(h + OpInOffset, linear + FuseInHeader.Size, opIn, opIn);
        request = _block.Memory.Slice(start, (int)inHeader.Len);
        return true;
    }

    public int Send(ReadOnlySpan<byte> message, int payloadLength)
    {
        if (message.Length < FuseOutHeader.Size || (uint)payloadLength > (uint)PayloadSize) return -Errno.EINVAL.Value;
        byte* h = _header.Pointer;
        message[..FuseOutHeader.Size].CopyTo(new Span<byte>(h, FuseOutHeader.Size));
        if (message.Length > FuseOutHeader.Size) message[FuseOutHeader.Size..].CopyTo(_payloadArea.Span);
        *(uint*)(h + PayloadSzOffset) = (uint)payloadLength;
        ReplyWritten = true;
        return 0;
    }

    /// <summary>A reply without payload for the current request (a request that takes none, or one the engine could not parse).</summary>
    public void WriteEmptyReply(Errno error)
    {
        var header = new FuseOutHeader { Len = FuseOutHeader.Size, Error = -error.Value, Unique = CommitId };
        MemoryMarshal.Write(new Span<byte>(_header.Pointer, FuseOutHeader.Size), in header);
        *(uint*)(_header.Pointer + PayloadSzOffset) = 0;
        ReplyWritten = true;
    }

    /// <summary>Frees both buffers: only when the kernel has let go of the entry and no handler holds it.</summary>
    public void Free()
    {
        _header.Free();
        _block.Free();
    }
}

/// <summary>Where a ring entry is.</summary>
internal enum RingEntryState
{
    /// <summary>Allocated, not yet handed to the kernel.</summary>
    New,
    /// <summary>A REGISTER or COMMIT_AND_FETCH is outstanding: the kernel owns the buffers.</summary>
    InKernel,
    /// <summary>A handler that went asynchronous holds it; its reply comes back through the queue's hand-off.</summary>
    Held,
    /// <summary>The kernel ended it (ENOTCONN at unmount, a cancelled ring): never submitted again.</summary>
    Dead,
}
