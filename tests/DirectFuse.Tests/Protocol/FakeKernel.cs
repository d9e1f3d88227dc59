using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Tests.Protocol;

/// <summary>A message read on the kernel end: a reply (unique &gt; 0) or a notification (unique 0, code in Error).</summary>
internal sealed class FuseMessage(FuseOutHeader header, byte[] payload)
{
    public FuseOutHeader Header { get; } = header;
    public byte[] Payload { get; } = payload;
    public int Error => Header.Error;
    public ulong Unique => Header.Unique;
    public int Length => FuseOutHeader.Size + Payload.Length;

    public T Read<T>(int offset = 0) where T : unmanaged
    {
        Assert.True(Payload.Length >= offset + Unsafe.SizeOf<T>(), $"payload of {Payload.Length} bytes has no {typeof(T).Name} at {offset}");
        return MemoryMarshal.Read<T>(Payload.AsSpan(offset));
    }

    public override string ToString() => $"len={Header.Len} error={Header.Error} unique={Header.Unique} payload={Payload.Length}";
}

/// <summary>
/// Plays the kernel's side of a FUSE connection over a SOCK_SEQPACKET socketpair (one message per read and
/// write, like /dev/fuse). The library end is a <see cref="FuseChannel"/> served by <see cref="FuseSessionCore.RunWorker"/>
/// on background threads. Dispose closes the kernel end: the workers read end-of-stream and are joined.
/// </summary>
internal sealed unsafe partial class FakeKernel : IDisposable
{
    public const int DefaultTimeoutMs = 5000;
    private const int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000;
    private const short POLLIN = 1;

    private int _kernelFd;
    private readonly List<Thread> _workers = [];
    private readonly List<string> _stopReasons = [];
    private readonly byte[] _readBuffer = GC.AllocateUninitializedArray<byte>(2 << 20, pinned: true);
    private long _nextUnique;
    private int _disposed;

    /// <param name="cuse">The CUSE side of a CUSE channel (/dev/cuse): it takes CUSE_INIT, not INIT.</param>
    public FakeKernel(LowLevelFileSystem fileSystem, int workers = 1, FuseSessionOptions? options = null, ILogger? logger = null, ICuseServer? cuse = null)
    {
        int* sv = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
            throw new InvalidOperationException($"socketpair failed: errno {Marshal.GetLastPInvokeError()}");
        _kernelFd = sv[0];
        Channel = new FuseChannel(sv[1], "fake");
        FileSystem = fileSystem;
        Core = new FuseSessionCore(fileSystem, options ?? new FuseSessionOptions { MaxWrite = 64 * 1024, Threads = workers }, logger ?? NullLogger.Instance)
        {
            ControlChannel = Channel,
            Cuse = cuse,
        };
        for (int i = 0; i < workers; i++)
        {
            var thread = new Thread(Work) { IsBackground = true, Name = $"fake-kernel-worker-{i}" };
            _workers.Add(thread);
            thread.Start();
        }
    }

    /// <summary>A CUSE channel serving <paramref name="device"/> as <paramref name="info"/> says, as CuseSession sets one up.</summary>
    public static FakeKernel ForCuse(DirectFuse.Devices.CharacterDevice device, DirectFuse.Cuse.CuseDeviceInfo info, int workers = 1, ILogger? logger = null)
    {
        var server = new DirectFuse.Cuse.CuseDeviceServer(device, info);
        return new FakeKernel(server.FileSystem, workers, logger: logger, cuse: server);
    }

    public LowLevelFileSystem FileSystem { get; }
    public FuseSessionCore Core { get; }
    public FuseChannel Channel { get; }
    public FuseNotifier Notifier => Core.Notifier;
    public int KernelFd => _kernelFd;
    public IReadOnlyList<string> StopReasons { get { lock (_stopReasons) return [.. _stopReasons]; } }

    private void Work()
    {
        string reason;
        try
        {
            reason = Core.RunWorker(Channel);
        }
        catch (Exception e)
        {
            reason = "worker failed: " + e;
        }
        lock (_stopReasons) _stopReasons.Add(reason);
    }

    /// <summary>A fresh unique id, stepping by 2 like the kernel (bit 0 marks interrupts).</summary>
    public ulong NextUnique() => (ulong)Interlocked.Add(ref _nextUnique, 2);

    // ---- Requests ----------------------------------------------------------------------------------------

    /// <summary>The bytes of a request: fuse_in_header, then the arguments, then the extensions.</summary>
    public static byte[] BuildRequest(FuseOpcode opcode, ulong unique, ulong nodeId, ReadOnlySpan<byte> args,
        uint uid = 0, uint gid = 0, uint pid = 0, ReadOnlySpan<byte> extensions = default, uint? lengthOverride = null, ushort? extLenOverride = null)
    {
        if (extensions.Length % 8 != 0) throw new ArgumentException("extensions are 8-byte units", nameof(extensions));
        var bytes = new byte[FuseInHeader.Size + args.Length + extensions.Length];
        var header = new FuseInHeader
        {
            Len = lengthOverride ?? (uint)bytes.Length,
            Opcode = opcode,
            Unique = unique,
            NodeId = nodeId,
            Uid = uid,
            Gid = gid,
            Pid = pid,
            TotalExtLen = extLenOverride ?? (ushort)(extensions.Length / 8),
        };
        MemoryMarshal.Write(bytes, in header);
        args.CopyTo(bytes.AsSpan(FuseInHeader.Size));
        extensions.CopyTo(bytes.AsSpan(FuseInHeader.Size + args.Length));
        return bytes;
    }

    /// <summary>Sends a request with a fresh unique id (unless given); returns the unique.</summary>
    public ulong Send(FuseOpcode opcode, ulong nodeId, ReadOnlySpan<byte> args, ulong? unique = null,
        uint uid = 0, uint gid = 0, uint pid = 0, ReadOnlySpan<byte> extensions = default)
    {
        ulong u = unique ?? NextUnique();
        SendRaw(BuildRequest(opcode, u, nodeId, args, uid, gid, pid, extensions));
        return u;
    }

    public ulong Send<T>(FuseOpcode opcode, ulong nodeId, in T arg, ulong? unique = null, ReadOnlySpan<byte> tail = default) where T : unmanaged
        => Send(opcode, nodeId, Bytes.Join(Bytes.Of(arg), tail), unique);

    /// <summary>Writes one message to the library end, exactly these bytes.</summary>
    public void SendRaw(ReadOnlySpan<byte> message)
    {
        fixed (byte* p = message)
        {
            nint n = write(_kernelFd, p, message.Length);
            if (n != message.Length) throw new InvalidOperationException($"write of {message.Length} bytes returned {n}, errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Sends a request and waits for its reply.</summary>
    public FuseMessage Call(FuseOpcode opcode, ulong nodeId, ReadOnlySpan<byte> args, int timeoutMs = DefaultTimeoutMs)
    {
        ulong unique = Send(opcode, nodeId, args);
        return ReadReply(unique, timeoutMs);
    }

    public FuseMessage Call<T>(FuseOpcode opcode, ulong nodeId, in T arg, ReadOnlySpan<byte> tail = default) where T : unmanaged
        => Call(opcode, nodeId, Bytes.Join(Bytes.Of(arg), tail));

    // ---- Replies and notifications -----------------------------------------------------------------------

    /// <summary>The next message from the library, or null if none arrives in time.</summary>
    public FuseMessage? TryRead(int timeoutMs)
    {
        var pfd = new PollFd { Fd = _kernelFd, Events = POLLIN };
        int rc;
        do rc = poll(&pfd, 1, timeoutMs);
        while (rc < 0 && Marshal.GetLastPInvokeError() == 4); // EINTR
        if (rc < 0) throw new InvalidOperationException($"poll failed: errno {Marshal.GetLastPInvokeError()}");
        if (rc == 0) return null;
        nint n;
        fixed (byte* p = _readBuffer) n = read(_kernelFd, p, _readBuffer.Length);
        if (n < 0) throw new InvalidOperationException($"read failed: errno {Marshal.GetLastPInvokeError()}");
        Assert.True(n >= FuseOutHeader.Size, $"message of {n} bytes is shorter than fuse_out_header");
        var header = MemoryMarshal.Read<FuseOutHeader>(_readBuffer);
        Assert.Equal((uint)n, header.Len);
        var payload = _readBuffer.AsSpan(FuseOutHeader.Size, (int)n - FuseOutHeader.Size);
        // Every reply passes the testing kit's header rules (errno range, no payload with an error); sizes per
        // opcode are the byte-exact tests' business. Notifications (unique 0) carry a code, not an errno.
        if (header.Unique != 0 && DirectFuse.Testing.Wire.ReplyRules.Check(0, [], header.Error, payload) is { } violation)
            Assert.Fail($"reply to unique {header.Unique}: {violation}");
        return new FuseMessage(header, payload.ToArray());
    }

    public FuseMessage Read(int timeoutMs = DefaultTimeoutMs) =>
        TryRead(Infrastructure.Patience.Milliseconds(timeoutMs)) ?? throw new Xunit.Sdk.XunitException($"no message from the library within {timeoutMs} ms");

    /// <summary>Reads the next message and checks it answers <paramref name="unique"/>.</summary>
    public FuseMessage ReadReply(ulong unique, int timeoutMs = DefaultTimeoutMs)
    {
        var m = Read(timeoutMs);
        Assert.True(m.Unique == unique, $"expected the reply to unique {unique}, got {m}");
        return m;
    }

    /// <summary>Reads the next message and checks it is a notification (unique 0) with this code.</summary>
    public FuseMessage ReadNotification(FuseNotifyCode code, int timeoutMs = DefaultTimeoutMs)
    {
        var m = Read(timeoutMs);
        Assert.True(m.Unique == 0, $"expected a notification, got {m}");
        Assert.Equal((int)code, m.Error);
        return m;
    }

    public void AssertNoMessage(int withinMs = 100)
    {
        var m = TryRead(withinMs);
        Assert.True(m is null, $"expected no message, got {m}");
    }

    // ---- INIT ----------------------------------------------------------------------------------------------

    public readonly record struct InitResult(FuseMessage Message, FuseInitOut Out, int PayloadLength);

    /// <summary>Sends INIT the way a kernel of 7.<paramref name="minor"/> does (16-byte fuse_init_in before 7.36) and parses the reply.</summary>
    public InitResult Init(uint minor = 45, InitFlags flags = InitFlags.None, uint flags2 = 0, uint major = 7, uint maxReadahead = 128 * 1024)
    {
        var a = new FuseInitIn { Major = major, Minor = minor, MaxReadahead = maxReadahead, Flags = (uint)flags, Flags2 = flags2 };
        // fuse_init_in is 64 bytes since 7.36 (flags2 and reserved words), 16 before.
        var wire = new byte[major == 7 && minor < 36 ? FuseInitIn.CompatSize : 64];
        Bytes.Of(a).AsSpan(0, Math.Min(wire.Length, 20)).CopyTo(wire);
        var m = Call(FuseOpcode.Init, 0, wire);
        FuseInitOut o = default;
        if (m.Error == 0)
        {
            var buf = new byte[FuseInitOut.Size];
            m.Payload.AsSpan(0, Math.Min(m.Payload.Length, buf.Length)).CopyTo(buf);
            o = MemoryMarshal.Read<FuseInitOut>(buf);
        }
        // Like FuseSession.Mount: requests on other workers and notifications wait until the engine has
        // taken INIT (it marks itself initialized only after writing the reply).
        if (m.Error == 0 && major == 7 && minor >= FuseDispatcher.OldestMinor)
            Assert.True(Core.InitCompleted.Wait(Infrastructure.Patience.Milliseconds(DefaultTimeoutMs)), "INIT was answered but the engine never completed it");
        return new InitResult(m, o, m.Payload.Length);
    }

    public Task<InitResult> InitAsync(uint minor = 45, InitFlags flags = InitFlags.None, uint flags2 = 0, uint major = 7) =>
        Task.Run(() => Init(minor, flags, flags2, major));

    /// <summary>The capabilities a 7.45 kernel typically offers (low half in flags, high half in flags2).</summary>
    public static readonly InitFlags ModernOffer = (InitFlags)0xFFFF_FFFFUL & ~InitFlags.InitReserved
        | InitFlags.SecurityCtx | InitFlags.CreateSuppGroup | InitFlags.HasExpireOnly | InitFlags.DirectIoAllowMmap
        | InitFlags.Passthrough | InitFlags.NoExportSupport | InitFlags.HasResend | InitFlags.AllowIdmap | InitFlags.RequestTimeout;

    public InitResult InitModern(InitFlags offer = default) =>
        Init(45, offer == default ? ModernOffer : offer, (uint)((ulong)(offer == default ? ModernOffer : offer) >> 32));

    /// <summary>A fake kernel whose INIT (7.45, modern offer) has been answered; disposed again if INIT fails.</summary>
    public static FakeKernel StartInitialized(LowLevelFileSystem fileSystem, int workers = 1, FuseSessionOptions? options = null, ILogger? logger = null)
    {
        var k = new FakeKernel(fileSystem, workers, options, logger);
        try
        {
            var init = k.InitModern();
            Assert.Equal(0, init.Message.Error);
            return k;
        }
        catch
        {
            k.Dispose();
            throw;
        }
    }

    // ---- Teardown ------------------------------------------------------------------------------------------

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        int fd = Interlocked.Exchange(ref _kernelFd, -1);
        if (fd >= 0) close(fd);
        foreach (var t in _workers)
            if (!t.Join(TimeSpan.FromSeconds(5)))
                throw new Xunit.Sdk.XunitException($"{t.Name} did not stop after the kernel end was closed");
        Core.Notifier.FailPending();
        Channel.Dispose();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint nfds, int timeout);
}

/// <summary>Byte helpers for building request arguments.</summary>
internal static class Bytes
{
    public static byte[] Of<T>(in T value) where T : unmanaged
    {
        var bytes = new byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(bytes, in value);
        return bytes;
    }

    /// <summary>UTF-8 with a terminating zero, as the kernel sends names.</summary>
    public static byte[] Name(string name) => [.. System.Text.Encoding.UTF8.GetBytes(name), 0];

    public static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    public static byte[] Concat(params ReadOnlySpan<byte[]> parts)
    {
        int total = 0;
        foreach (var p in parts) total += p.Length;
        var result = new byte[total];
        int at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, at);
            at += p.Length;
        }
        return result;
    }

    public static byte[] Join(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length + b.Length];
        a.CopyTo(result);
        b.CopyTo(result.AsSpan(a.Length));
        return result;
    }
}

/// <summary>Little-endian byte builder for expected wire images, independent of the library's structs.</summary>
internal sealed class ByteWriter
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public ByteWriter U16(ushort v) { Span<byte> b = stackalloc byte[2]; System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(b, v); _bytes.AddRange(b); return this; }
    public ByteWriter U32(uint v) { Span<byte> b = stackalloc byte[4]; System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, v); _bytes.AddRange(b); return this; }
    public ByteWriter I32(int v) => U32((uint)v);
    public ByteWriter U64(ulong v) { Span<byte> b = stackalloc byte[8]; System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, v); _bytes.AddRange(b); return this; }
    public ByteWriter Raw(ReadOnlySpan<byte> bytes) { _bytes.AddRange(bytes); return this; }
    public ByteWriter Zeros(int count) { for (int i = 0; i < count; i++) _bytes.Add(0); return this; }
    public ByteWriter PadTo8() => Zeros((8 - _bytes.Count % 8) % 8);

    public byte[] ToArray() => [.. _bytes];
}
