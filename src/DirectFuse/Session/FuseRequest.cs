using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

/// <summary>
/// One request in flight: the bytes it was read as, the buffer its reply is built in, the channel to
/// answer on, and its cancellation. Objects are pooled; a worker reuses its own as long as handlers
/// complete synchronously, so the hot path allocates nothing.
/// </summary>
/// <remarks>
/// Memory follows what the request carries, because a handler that waits (a blocking F_SETLKW, a device
/// read) keeps its request, and any local user can make thousands wait. The kernel insists on reading into
/// a buffer of max_write + 4 KiB, which the worker owns (<see cref="Load(byte[], int)"/>). A request of up to
/// <see cref="SmallSize"/> bytes (every metadata request but long symlinks and xattr values) is copied into
/// the object's own small buffer, one of up to <see cref="CopyLimit"/> (small WRITEs, what a blocking device
/// sees) into a buffer rented at its size, so the read buffer stays with the worker whatever the handler
/// does. Larger ones are served in place, since copying them would cost every large WRITE a memcpy; if their
/// handler goes asynchronous the read buffer goes with them (<see cref="HoldsReadBuffer"/>) and the worker
/// takes another. Such a request carries more than <see cref="CopyLimit"/> bytes, so it holds at most
/// max_write / CopyLimit times what it carries. Replies are built in a small buffer unless a handler asks for
/// more (<see cref="ReplyPayload"/>: READ, READDIR, xattr values, ioctl data), which is rented from
/// <see cref="ArrayPool{T}.Shared"/> at the size asked for. A waiting F_SETLKW thus costs this object and
/// 2 × <see cref="SmallSize"/> bytes instead of two max_write buffers.
/// </remarks>
internal sealed class FuseRequest
{
    /// <summary>Size of each of the object's own request and reply buffers.</summary>
    public const int SmallSize = 1024;
    /// <summary>Largest request copied out of the read buffer (into one rented at its size).</summary>
    public const int CopyLimit = 16 * 1024;

    private readonly byte[] _smallIn = new byte[SmallSize];
    private readonly byte[] _smallOut = new byte[SmallSize];
    private readonly int _maxOut;
    // The read buffer of a request built for one test or one-off use (the constructor with sizes).
    private readonly byte[]? _ownReadBuffer;
    // The bytes being served: _smallIn, _rentedIn, or the memory they were delivered in (served in place).
    private Memory<byte> _in;
    private byte[]? _rentedIn;
    // The worker's read buffer a large request is served in place from (it must go back to the pool).
    private byte[]? _heldReadBuffer;
    // Served in place from memory the sink owns (a ring entry): its payload area is then not used for the reply,
    // so a handler never writes its reply over its own arguments.
    private bool _inSinkMemory;
    // The reply payload was written in the sink's own area (ReplyPayload), not in _out.
    private bool _payloadInSink;
    // Where the reply is built: _smallOut or _rentedOut.
    private byte[] _out;
    private byte[]? _rentedOut;
    private CancellationTokenSource _cancellation = new();
    private DirectoryBuffer? _directory;
    // Guards Unique/cancellation against a concurrent INTERRUPT looking for this request.
    private readonly Lock _interruptLock = new();

    /// <summary>A pooled request: it is given the bytes to serve by <see cref="Load(byte[], int)"/>.</summary>
    /// <param name="maxOut">The largest reply (header included) the connection allows.</param>
    public FuseRequest(int maxOut)
    {
        _maxOut = maxOut;
        _in = _smallIn;
        _out = _smallOut;
    }

    /// <summary>A request with its own read buffer (<see cref="InBuffer"/>, then <see cref="Load(int)"/>).</summary>
    public FuseRequest(int inSize, int outSize) : this(outSize)
    {
        _ownReadBuffer = GC.AllocateUninitializedArray<byte>(inSize, pinned: true);
    }

    /// <summary>Where the reply goes: the channel the request was read from, or its ring entry.</summary>
    public IReplySink Sink { get; set; } = null!;
    /// <summary>This object's place in its pool's registry; -1 once dropped.</summary>
    public int RegistryIndex { get; set; } = -1;
    /// <summary>The read buffer of a request made with its own (see the constructor with sizes).</summary>
    public Span<byte> InBuffer => _ownReadBuffer ?? throw new InvalidOperationException("A pooled request reads into its worker's buffer.");
    /// <summary>True when the request is served in place in the read buffer it was loaded from (too large to copy).</summary>
    public bool HoldsReadBuffer => _heldReadBuffer is not null;
    public int Length { get; private set; }
    public FuseInHeader Header;
    /// <summary>Where the operation's arguments end (extensions follow).</summary>
    public int ArgsEnd { get; private set; }
    public int ArgsLength => ArgsEnd - FuseInHeader.Size;
    public bool Replied { get; private set; }
    public Errno ReplyErrno { get; private set; }

    /// <summary>An errno the handler answered that the kernel refuses (not 1..511), sent as EIO instead; Ok if none.</summary>
    public Errno RefusedErrno { get; private set; }

    // ERESTARTSYS: the kernel takes errors above -512 only.
    private const uint MaxReplyErrno = 512;
    /// <summary>The unique id a pending INTERRUPT may name; 0 when idle.</summary>
    public ulong ActiveUnique
    {
        get
        {
            ulong unique = Volatile.Read(ref _activeUnique);
            return unique == Interrupting ? Header.Unique : unique;
        }
    }
    public CancellationToken CancellationToken => _cancellation.Token;

    public FuseOpcode Opcode => Header.Opcode;
    public NodeId NodeId => new(Header.NodeId);
    public FuseContext Context(uint umask = 0, int fileFlags = 0, bool killSuidSgid = false) =>
        new(Header.Unique, Header.Uid, Header.Gid, Header.Pid, umask, fileFlags,
            Header.TotalExtLen == 0 ? FuseContext.NoGroup : ExtensionGroup(), killSuidSgid);

    /// <summary>
    /// The group of a <c>FUSE_EXT_GROUPS</c> extension (the kernel sends one, the parent directory's group, with
    /// creating requests when the caller is a member of it but not by its effective gid), or none.
    /// </summary>
    private uint ExtensionGroup()
    {
        if (ArgsEnd < FuseInHeader.Size || ArgsEnd > Length) return FuseContext.NoGroup;
        var extensions = Extensions;
        while (extensions.Length >= FuseExtHeader.Size)
        {
            var header = MemoryMarshal.Read<FuseExtHeader>(extensions);
            if (header.ExtSize < FuseExtHeader.Size || header.ExtSize > (uint)extensions.Length) break;
            // struct fuse_supp_groups { uint32_t nr_groups; uint32_t groups[]; }
            if (header.Type == FuseExtHeader.TypeGroups && header.ExtSize >= FuseExtHeader.Size + 8
                && MemoryMarshal.Read<uint>(extensions[FuseExtHeader.Size..]) >= 1)
                return MemoryMarshal.Read<uint>(extensions[(FuseExtHeader.Size + 4)..]);
            extensions = extensions[(int)header.ExtSize..];
        }
        return FuseContext.NoGroup;
    }

    /// <summary>Takes a request read into <see cref="InBuffer"/>; false if it is too short to answer.</summary>
    public bool Load(int length) => Load(_ownReadBuffer ?? throw new InvalidOperationException("A pooled request reads into its worker's buffer."), length);

    /// <summary>
    /// Takes a freshly read request of <paramref name="length"/> bytes from <paramref name="readBuffer"/>: copied
    /// up to <see cref="CopyLimit"/> bytes, else served in place (then <see cref="HoldsReadBuffer"/>). False if
    /// it is too short to answer.
    /// </summary>
    public bool Load(byte[] readBuffer, int length) => Load(readBuffer, length, readBuffer);

    /// <summary>
    /// Takes a request delivered whole in <paramref name="delivered"/>, memory that stays valid until the reply is
    /// sent (a ring entry's buffer): copied as from a read buffer, else served in place. False if it is too short.
    /// </summary>
    public bool Load(Memory<byte> delivered) => Load(delivered, delivered.Length, null);

    private bool Load(Memory<byte> source, int length, byte[]? readBuffer)
    {
        ReleaseBuffers();
        if (length <= SmallSize)
        {
            // A copy of at most 1 KiB costs far less than the read: it frees the read buffer from whatever the handler does.
            source.Span[..Math.Max(length, 0)].CopyTo(_smallIn);
            _in = _smallIn;
        }
        else if (length <= CopyLimit)
        {
            // ArrayPool.Shared: no allocation once warm, and it trims what stays idle.
            _rentedIn = ArrayPool<byte>.Shared.Rent(length);
            source.Span[..length].CopyTo(_rentedIn);
            _in = _rentedIn;
        }
        else
        {
            _in = source;
            _heldReadBuffer = readBuffer;
            _inSinkMemory = readBuffer is null;
        }
        Length = length;
        Replied = false;
        ReplyErrno = Errno.Ok;
        RefusedErrno = Errno.Ok;
        if (length < FuseInHeader.Size) return false;
        Header = MemoryMarshal.Read<FuseInHeader>(_in.Span);
        ArgsEnd = length - Header.TotalExtLen * 8;
        return true;
    }

    // Begin/EndActive run on every request, TryInterrupt almost never: the request path takes no lock (two Monitor
    // enter/exit pairs were about 170 instructions a request), only one compare-exchange in EndActive. An
    // interrupter marks the request with Interrupting while it cancels, under the lock, so EndActive sees either
    // the plain unique (no interrupt began: nothing to reset, and a later interrupter finds no match) or the mark
    // or _interrupted (then it takes the lock, which waits for the interrupter, and replaces the cancelled source).
    private const ulong Interrupting = ulong.MaxValue;
    private ulong _activeUnique;
    private bool _interrupted;

    public void BeginActive() => Volatile.Write(ref _activeUnique, Header.Unique);

    public void EndActive()
    {
        ulong unique = Header.Unique;
        if (Interlocked.CompareExchange(ref _activeUnique, 0, unique) == unique && !Volatile.Read(ref _interrupted))
        {
            // No interrupter can match any more, so no Cancel races this. TryReset also drops registrations a
            // handler left on the token.
            if (!_cancellation.TryReset()) _cancellation = new CancellationTokenSource();
            return;
        }
        lock (_interruptLock)
        {
            Volatile.Write(ref _activeUnique, 0);
            _interrupted = false;
            // A source that was cancelled cannot be reused; replace it.
            if (!_cancellation.TryReset()) _cancellation = new CancellationTokenSource();
        }
    }

    /// <summary>Cancels the handler if this object is still serving <paramref name="unique"/>.</summary>
    public bool TryInterrupt(ulong unique)
    {
        if (unique is 0 or Interrupting) return false;
        lock (_interruptLock)
        {
            if (Interlocked.CompareExchange(ref _activeUnique, Interrupting, unique) != unique) return false;
            _interrupted = true;
            _cancellation.Cancel();
            Volatile.Write(ref _activeUnique, unique);
            return true;
        }
    }

    // ---- Parsing -------------------------------------------------------------------------------------------

    /// <summary>The operation's fixed argument struct (size checked against the opcode table at dispatch).</summary>
    public T Arg<T>() where T : unmanaged => MemoryMarshal.Read<T>(_in.Span.Slice(FuseInHeader.Size, ArgsLength));

    /// <summary>The argument struct when it may be shorter on older kernels: missing bytes read as zero.</summary>
    public T ArgOrCompat<T>() where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        if (ArgsLength >= size) return Arg<T>();
        Span<byte> tmp = stackalloc byte[size];
        tmp.Clear();
        _in.Span.Slice(FuseInHeader.Size, ArgsLength).CopyTo(tmp);
        return MemoryMarshal.Read<T>(tmp);
    }

    /// <summary>A zero-terminated name at <paramref name="offset"/> bytes into the arguments; sets <paramref name="next"/> after its terminator.</summary>
    public FileName NameAt(int offset, out int next)
    {
        // Compared as lengths, not as start + length, so no offset can wrap around.
        if (offset < 0 || offset > ArgsLength) throw new MalformedRequestException($"{Opcode}: name starts past the end of the request");
        int start = FuseInHeader.Size + offset;
        int len = _in.Span[start..ArgsEnd].IndexOf((byte)0);
        if (len < 0) throw new MalformedRequestException($"{Opcode}: name is not zero-terminated");
        next = offset + len + 1;
        return new FileName(_in.Slice(start, len));
    }

    public FileName NameAt(int offset) => NameAt(offset, out _);

    /// <summary>
    /// A name the request creates, removes or renames (MKNOD, MKDIR, CREATE, SYMLINK, LINK, UNLINK, RMDIR, RENAME):
    /// one entry, not "." or "..", at most NAME_MAX bytes. The file system never sees any other.
    /// </summary>
    public FileName EntryNameAt(int offset, out int next) => Checked(NameAt(offset, out next), allowDots: false);

    public FileName EntryNameAt(int offset) => EntryNameAt(offset, out _);

    /// <summary>A name LOOKUP resolves: as <see cref="EntryNameAt(int, out int)"/>, but "." and ".." are legitimate (NFS export).</summary>
    public FileName LookupNameAt(int offset) => Checked(NameAt(offset), allowDots: true);

    /// <summary>SYMLINK's target: a path, so '/' is fine, but not empty and shorter than PATH_MAX with its terminator.</summary>
    public FileName SymlinkTargetAt(int offset)
    {
        var target = NameAt(offset);
        if (target.Length >= PathMax) throw new MalformedRequestException($"{Opcode}: symlink target of {target.Length} bytes", Errno.ENAMETOOLONG);
        if (target.Length == 0) throw new MalformedRequestException($"{Opcode}: empty symlink target");
        return target;
    }

    /// <summary>An extended attribute's name: 1 to XATTR_NAME_MAX (255) bytes, or ERANGE as setxattr(2) answers.</summary>
    public FileName XattrNameAt(int offset, out int next)
    {
        var name = NameAt(offset, out next);
        if (name.Length == 0 || name.Length > FileName.MaxLength)
            throw new MalformedRequestException($"{Opcode}: extended attribute name of {name.Length} bytes", Errno.ERANGE);
        return name;
    }

    private const int PathMax = 4096;

    private FileName Checked(FileName name, bool allowDots)
    {
        var errno = FileName.Check(name.Span, allowDots);
        if (!errno.IsOk) throw new MalformedRequestException($"{Opcode}: invalid name ({name.Length} bytes): {errno.Name}", errno);
        return name;
    }

    /// <summary>Bytes of the arguments from <paramref name="offset"/>, <paramref name="length"/> long.</summary>
    public ReadOnlyMemory<byte> ArgBytes(int offset, int length)
    {
        // Subtraction, not start + length: a length near 2^31 must fail here, not wrap and pass.
        if (offset < 0 || length < 0 || offset > ArgsLength || length > ArgsLength - offset)
            throw new MalformedRequestException($"{Opcode}: {length} bytes at {offset} run past the request ({ArgsLength} bytes)");
        return _in.Slice(FuseInHeader.Size + offset, length);
    }

    /// <summary>The bytes a 32-bit length field names at <paramref name="offset"/>; any length the request does not hold is malformed.</summary>
    public ReadOnlyMemory<byte> ArgBytes(int offset, uint length) =>
        length > int.MaxValue
            ? throw new MalformedRequestException($"{Opcode}: {length} bytes at {offset} run past the request ({ArgsLength} bytes)")
            : ArgBytes(offset, (int)length);

    /// <summary>A file offset: the kernel's loff_t is signed, so one of 2^63 or more is malformed.</summary>
    public long FileOffset(ulong offset) =>
        offset > long.MaxValue ? throw new MalformedRequestException($"{Opcode}: {offset} is past the largest file offset (2^63 - 1)") : (long)offset;

    public ReadOnlySpan<byte> Extensions => _in.Span[ArgsEnd..Length];

    // ---- Replies -------------------------------------------------------------------------------------------

    /// <summary>
    /// Gives back what the request holds beyond the object: rented buffers, and the read buffer
    /// (returned, for the pool to keep or drop) if the request was served in place.
    /// </summary>
    public byte[]? Release()
    {
        byte[]? readBuffer = _heldReadBuffer != _ownReadBuffer ? _heldReadBuffer : null;
        ReleaseBuffers();
        Length = 0;
        return readBuffer;
    }

    private void ReleaseBuffers()
    {
        _in = _smallIn;
        _heldReadBuffer = null;
        _inSinkMemory = false;
        _payloadInSink = false;
        if (_rentedIn is { } rentedIn)
        {
            _rentedIn = null;
            ArrayPool<byte>.Shared.Return(rentedIn);
        }
        _out = _smallOut;
        if (_rentedOut is { } rented)
        {
            _rentedOut = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The reply payload area, for handlers that write their data in place: at most <paramref name="maxLength"/>
    /// bytes and what the connection allows. Every call during one request returns the same area.
    /// </summary>
    public Memory<byte> ReplyPayload(int maxLength)
    {
        int payload = Math.Clamp(maxLength, 0, _maxOut - FuseOutHeader.Size);
        // A ring entry's payload buffer takes READ data and directory listings in place, with no copy. Decided by
        // the sink's size, not this call's, so that every call of one request gets the same area.
        var area = Sink.PayloadArea;
        if (!_inSinkMemory && area.Length >= _maxOut - FuseOutHeader.Size)
        {
            _payloadInSink = true;
            return area[..payload];
        }
        return ReplyBuffer(payload).AsMemory(FuseOutHeader.Size, payload);
    }

    /// <summary>
    /// The reply buffer, made large enough for <paramref name="payload"/> bytes: the small one while it fits,
    /// else one rented at the size needed (ArrayPool.Shared: no allocation once warm, and it trims itself when
    /// idle), with what was written so far carried over.
    /// </summary>
    private byte[] ReplyBuffer(int payload)
    {
        int needed = FuseOutHeader.Size + payload;
        if (needed <= _out.Length) return _out;
        var larger = ArrayPool<byte>.Shared.Rent(needed);
        _out.AsSpan().CopyTo(larger);
        if (_rentedOut is { } previous) ArrayPool<byte>.Shared.Return(previous);
        _rentedOut = larger;
        _out = larger;
        return larger;
    }

    public DirectoryBuffer Directory(int size, bool plus)
    {
        _directory ??= new DirectoryBuffer();
        _directory.Reset(ReplyPayload(size), plus);
        return _directory;
    }

    public void ReplyError(Errno errno)
    {
        if (errno.IsOk) throw new ArgumentException("not an error", nameof(errno));
        Send(0, errno);
    }

    public void ReplyEmpty() => Send(0, Errno.Ok);

    /// <summary>Replies with <paramref name="payloadLength"/> bytes already written at <see cref="ReplyPayload"/>.</summary>
    public void ReplyPayloadBytes(int payloadLength) => Send(payloadLength, Errno.Ok);

    public void Reply<T>(in T value) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        MemoryMarshal.Write(ReplyBuffer(size).AsSpan(FuseOutHeader.Size, size), in value);
        _payloadInSink = false;
        Send(size, Errno.Ok);
    }

    /// <summary>
    /// The reply payload as a zeroed <typeparamref name="T"/> to fill in place, then send with
    /// <see cref="SendStruct{T}"/>: no copy of the struct into the buffer.
    /// </summary>
    internal ref T ReplyStruct<T>() where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        ref T value = ref Unsafe.As<byte, T>(ref ReplyBuffer(size)[FuseOutHeader.Size]);
        value = default;
        return ref value;
    }

    /// <summary>Sends the <typeparamref name="T"/> filled in through <see cref="ReplyStruct{T}"/>.</summary>
    internal void SendStruct<T>() where T : unmanaged
    {
        _payloadInSink = false;
        Send(Unsafe.SizeOf<T>(), Errno.Ok);
    }

    /// <summary>Replies with the first <paramref name="size"/> bytes of <paramref name="value"/> (older kernels' struct sizes).</summary>
    public void ReplyTruncated<T>(in T value, int size) where T : unmanaged
    {
        Span<byte> dst = ReplyBuffer(Unsafe.SizeOf<T>()).AsSpan(FuseOutHeader.Size, Unsafe.SizeOf<T>());
        MemoryMarshal.Write(dst, in value);
        _payloadInSink = false;
        Send(Math.Min(size, Unsafe.SizeOf<T>()), Errno.Ok);
    }

    /// <summary>Marks a request that takes no reply (FORGET, NOTIFY_REPLY) as answered.</summary>
    public void NoReply() => Replied = true;

    private void Send(int payloadLength, Errno errno)
    {
        if (Replied) throw new InvalidOperationException($"{Opcode} (unique {Header.Unique}) was answered twice");
        Replied = true;
        // The kernel drops a reply whose error is outside -511..0 without finding its request, so the caller would
        // wait until the connection is aborted: such an errno from a handler is answered as EIO (and logged).
        if ((uint)errno.Value >= MaxReplyErrno)
        {
            RefusedErrno = errno;
            errno = Errno.EIO;
            payloadLength = 0;
        }
        ReplyErrno = errno;
        var header = new FuseOutHeader
        {
            Len = (uint)(FuseOutHeader.Size + payloadLength),
            Error = -errno.Value,
            Unique = Header.Unique,
        };
        MemoryMarshal.Write(_out, in header);
        // A payload written in the sink's own area stays there; only the header travels with the message.
        int rc = Sink.Send(_out.AsSpan(0, FuseOutHeader.Size + (_payloadInSink ? 0 : payloadLength)), payloadLength);
        // ENOENT: the request was interrupted or aborted meanwhile; the kernel no longer waits for it.
        if (rc < 0 && rc != -Errno.ENOENT.Value) WriteFailed?.Invoke(this, new Errno(-rc));
    }

    public Action<FuseRequest, Errno>? WriteFailed { get; set; }

    // ---- Telemetry (FuseMetrics): set at Begin, cleared at End -------------------------------------------------

    /// <summary>When the request's clock started (<see cref="System.Diagnostics.Stopwatch"/> ticks); 0 when nobody measures durations.</summary>
    public long TelemetryStart { get; set; }
    /// <summary>True when the request was counted in directfuse.active_requests and must be taken off at its end.</summary>
    public bool CountedActive { get; set; }
    /// <summary>The request's span, when a listener samples them.</summary>
    public System.Diagnostics.Activity? Activity { get; set; }
}
