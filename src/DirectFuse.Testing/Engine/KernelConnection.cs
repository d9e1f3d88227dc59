using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Testing.Wire;

namespace DirectFuse.Testing.Engine;

/// <summary>A reply that passed the kernel's checks: its errno (negative or 0) and its payload.</summary>
internal readonly record struct RawReply(int Error, byte[] Payload);

/// <summary>
/// The kernel's end of one connection: a SOCK_SEQPACKET socketpair (one message per read and write, as
/// /dev/fuse) whose other end the real engine serves with the worker threads a mount runs. A reader thread takes
/// every message the engine writes, checks it as fuse_dev_do_write does, and completes the call it answers.
/// </summary>
internal sealed partial class KernelConnection : IDisposable
{
    private const int EINTR = 4, EAGAIN = 11, ENOSYS = 38, SHUT_RDWR = 2;
    /// <summary>FUSE_INT_REQ_BIT: an INTERRUPT's unique is its request's with bit 0 set.</summary>
    private const ulong InterruptBit = 1;

    private readonly FuseTestKernelOptions _options;
    private readonly ConcurrentDictionary<ulong, PendingCall> _pending = new();
    private readonly ConcurrentQueue<FuseNotification> _notifications = new();
    private readonly WorkerThreads _workers;
    private readonly Thread _reader;
    private readonly Lock _writeLock = new();
    private int _kernelFd;
    private long _nextUnique;
    private volatile bool _closing;

    public unsafe KernelConnection(LowLevelFileSystem fileSystem, FuseTestKernelOptions options)
    {
        _options = options;
        Faults = new FaultLog(options.Logger);
        int* sv = stackalloc int[2];
        if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0, sv) != 0)
            throw new IOException($"socketpair failed: {Errno.Last}");
        _kernelFd = sv[0];
        // A message must fit the sender's buffer: large WRITEs one way, large READ replies the other.
        int room = (int)Math.Clamp(options.MaxWrite, 4096u, 1u << 20) * 2 + 64 * 1024;
        WidenSendBuffer(sv[0], room);
        WidenSendBuffer(sv[1], room);
        Channel = new FuseChannel(sv[1], "test kernel");
        var sessionOptions = new FuseSessionOptions { MaxWrite = options.MaxWrite, Threads = Math.Max(1, options.Threads), Debug = options.Debug };
        Core = new FuseSessionCore(fileSystem, sessionOptions, Faults) { ControlChannel = Channel };
        _workers = new WorkerThreads(Core, Faults, "fuse-test-worker");
        for (int i = 0; i < sessionOptions.Threads; i++) _workers.Start(() => Core.RunWorker(Channel));
        _reader = new Thread(ReadReplies) { IsBackground = true, Name = "fuse-test-kernel" };
        _reader.Start();
    }

    public FuseSessionCore Core { get; }
    public FuseChannel Channel { get; }
    public FaultLog Faults { get; }
    /// <summary>What the kernel knows of each node it holds lookup references on: its type (a GETATTR must not change it).</summary>
    public NodeTypes Nodes { get; } = new();
    /// <summary>The capabilities INIT negotiated (flags, and flags2 shifted up by 32).</summary>
    public ulong Negotiated { get; set; }
    /// <summary>The engine's max_write from INIT: the kernel never sends a larger WRITE.</summary>
    public uint MaxWrite { get; set; }
    public TimeSpan ReplyTimeout => _options.ReplyTimeout;

    /// <summary>The notifications received so far, taken out of the queue.</summary>
    public IReadOnlyList<FuseNotification> TakeNotifications()
    {
        var taken = new List<FuseNotification>();
        while (_notifications.TryDequeue(out var n)) taken.Add(n);
        return taken;
    }

    // ---- Sending ---------------------------------------------------------------------------------------------

    private ulong NextUnique() => (ulong)Interlocked.Add(ref _nextUnique, 2);

    /// <summary>Sends a request and waits for its checked reply.</summary>
    public async Task<RawReply> CallAsync(uint opcode, ulong nodeId, byte[] args, FuseCaller caller, string operation, CancellationToken cancellationToken)
    {
        ThrowEarlierFaults(operation);
        ulong unique = NextUnique();
        var call = new PendingCall(opcode, args, operation);
        _pending[unique] = call;
        try
        {
            Write(Request(opcode, unique, nodeId, args, caller));
        }
        catch
        {
            _pending.TryRemove(unique, out _);
            throw;
        }
        RawReply reply;
        // As the kernel does when a waiting caller gets a signal: INTERRUPT, then wait for the reply (EINTR, usually).
        using (cancellationToken.Register(() => SendInterrupt(unique)))
        {
            try
            {
                reply = await call.Completion.Task.WaitAsync(_options.ReplyTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _pending.TryRemove(unique, out _);
                throw new TimeoutException($"{operation}: no reply within {_options.ReplyTimeout.TotalSeconds:0.###} s (on a mount the caller would wait forever)");
            }
        }
        // The engine logs a handler's failure before it writes the EIO: the fault is recorded by now.
        if (_options.ThrowOnFileSystemFault && Faults.TakeUnreported() is { Count: > 0 } faults) throw ToException(operation, faults);
        return reply;
    }

    /// <summary>Sends a request that takes no reply (FORGET, BATCH_FORGET).</summary>
    public void Send(uint opcode, ulong nodeId, byte[] args, FuseCaller caller, string operation)
    {
        ThrowEarlierFaults(operation);
        Write(Request(opcode, NextUnique(), nodeId, args, caller));
    }

    /// <summary>INTERRUPT as fuse_read_interrupt builds it: its own unique is the request's with bit 0 set; no node, no caller.</summary>
    private void SendInterrupt(ulong unique)
    {
        if (_closing || !_pending.ContainsKey(unique)) return;
        try
        {
            Write(Request(Opcodes.Interrupt, unique | InterruptBit, 0, new WireWriter().U64(unique).ToArray(), default));
        }
        catch (IOException)
        {
            // Closing: the call fails on its own.
        }
    }

    private void ThrowEarlierFaults(string operation)
    {
        if (_closing) throw new ObjectDisposedException(nameof(FuseTestKernel));
        if (_options.ThrowOnFileSystemFault && Faults.TakeUnreported() is { Count: > 0 } faults)
            throw ToException($"before {operation}", faults);
    }

    public static Exception ToException(string operation, IReadOnlyList<Fault> faults)
    {
        if (faults.FirstOrDefault(f => f.IsProtocolViolation) is { } violation)
            return new FuseProtocolViolationException(operation, violation.Message);
        return new FuseFileSystemFaultException(operation, [.. faults.Select(f => f.Message)], faults.FirstOrDefault(f => f.Exception is not null)?.Exception);
    }

    private static byte[] Request(uint opcode, ulong unique, ulong nodeId, byte[] args, FuseCaller caller)
    {
        var header = new WireWriter()
            .U32((uint)(WireReader.InHeaderSize + args.Length)).U32(opcode).U64(unique).U64(nodeId)
            .U32(caller.Uid).U32(caller.Gid).U32(caller.Pid)
            .U32(0); // total_extlen, padding: no extensions
        return [.. header.ToArray(), .. args];
    }

    private unsafe void Write(byte[] message)
    {
        lock (_writeLock)
        {
            int fd = _kernelFd;
            if (fd < 0 || _closing) throw new ObjectDisposedException(nameof(FuseTestKernel));
            nint n;
            fixed (byte* p = message) n = Libc.write(fd, p, message.Length);
            if (n != message.Length) throw new IOException($"writing a {message.Length}-byte request failed: {Errno.Last}");
        }
    }

    // ---- Receiving -------------------------------------------------------------------------------------------

    private unsafe void ReadReplies()
    {
        // Larger than any reply the engine builds (max_write, clamped to 1 MiB, plus 4 KiB): a short read would cut one.
        var buffer = GC.AllocateUninitializedArray<byte>((int)Math.Clamp(_options.MaxWrite, 4096u, 1u << 20) + 64 * 1024, pinned: true);
        var pfd = new Libc.PollFd { Fd = _kernelFd, Events = Libc.POLLIN };
        while (!_closing)
        {
            int rc = Libc.poll(&pfd, 1, 200);
            if (rc == 0 || (rc < 0 && Libc.LastErrno == EINTR)) continue;
            if (rc < 0 || _closing) break;
            nint n;
            fixed (byte* p = buffer) n = Libc.read(_kernelFd, p, buffer.Length);
            if (n < 0 && Libc.LastErrno is EINTR or EAGAIN) continue;
            if (n <= 0) break;
            Receive(buffer.AsSpan(0, (int)n));
        }
    }

    private void Receive(ReadOnlySpan<byte> message)
    {
        if (message.Length < WireReader.OutHeaderSize)
        {
            Stray($"the engine wrote a {message.Length}-byte message, shorter than fuse_out_header: the kernel refuses it with EINVAL");
            return;
        }
        uint length = WireReader.U32(message, 0);
        int error = WireReader.I32(message, 4);
        ulong unique = WireReader.U64(message, 8);
        var payload = message[WireReader.OutHeaderSize..];
        if (unique == 0)
        {
            _notifications.Enqueue(new FuseNotification(error, payload.ToArray()));
            return;
        }
        if ((unique & InterruptBit) != 0)
        {
            ReceiveInterruptReply(unique & ~InterruptBit, error, message.Length);
            return;
        }
        if (!_pending.TryRemove(unique, out var call))
        {
            Stray($"the engine answered unique {unique}, which no request is waiting for (answered twice, or never asked): the kernel refuses the write with ENOENT");
            return;
        }
        string? violation = length != (uint)message.Length
            ? $"the reply header says {length} bytes but {message.Length} were written: {ReplyRules.Unmatched}"
            : ReplyRules.Check(call.Opcode, call.Args, error, payload);
        if (violation is not null) call.Completion.TrySetException(new FuseProtocolViolationException(call.Operation, violation));
        else call.Completion.TrySetResult(new RawReply(error, payload.ToArray()));
    }

    private void ReceiveInterruptReply(ulong unique, int error, int length)
    {
        if (length != WireReader.OutHeaderSize)
            Stray($"the reply to the INTERRUPT of unique {unique} has {length - WireReader.OutHeaderSize} bytes of payload: the kernel refuses it with EINVAL");
        // EAGAIN: the engine had not seen the request yet; the kernel queues the INTERRUPT again.
        else if (error == -EAGAIN && _pending.TryGetValue(unique, out _))
            _ = Task.Delay(10).ContinueWith(_ => SendInterrupt(unique), TaskScheduler.Default);
        else if (error != -EAGAIN && error != -ENOSYS && error != 0)
            Stray($"the INTERRUPT of unique {unique} was answered {error}; only EAGAIN and ENOSYS mean anything to the kernel");
    }

    private void Stray(string violation) => Faults.Add(new Fault(violation, null, IsProtocolViolation: true));

    // ---- Closing ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Ends the connection as an unmount does: the engine's workers read end-of-stream, the last one fails pending
    /// retrieves, waits for running handlers and runs the file system's Destroy.
    /// </summary>
    public void Dispose()
    {
        if (_closing) return;
        _closing = true;
        int fd = _kernelFd;
        shutdown(fd, SHUT_RDWR);
        bool stopped = _workers.Join(TimeSpan.FromSeconds(10));
        _reader.Join(TimeSpan.FromSeconds(5));
        lock (_writeLock)
        {
            _kernelFd = -1;
            Libc.close(fd);
        }
        foreach (var call in _pending.Values) call.Completion.TrySetException(new ObjectDisposedException(nameof(FuseTestKernel), $"{call.Operation}: the test kernel was disposed before the reply"));
        _pending.Clear();
        if (stopped) Channel.Dispose();
        else Faults.Add(new Fault("the engine's workers did not stop within 10 s of the connection closing", null, IsProtocolViolation: false));
    }

    /// <summary>
    /// SO_SNDBUFFORCE where permitted (CAP_NET_ADMIN), else SO_SNDBUF, which net.core.wmem_max caps (about 208 KiB
    /// by default): without privilege, messages larger than that cannot be sent (see <see cref="FuseTestKernelOptions.MaxWrite"/>).
    /// </summary>
    private static unsafe void WidenSendBuffer(int fd, int size)
    {
        const int SolSocket = 1, SoSndBuf = 7, SoSndBufForce = 32;
        if (setsockopt(fd, SolSocket, SoSndBufForce, &size, sizeof(int)) != 0) setsockopt(fd, SolSocket, SoSndBuf, &size, sizeof(int));
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int shutdown(int fd, int how);

    private sealed class PendingCall(uint opcode, byte[] args, string operation)
    {
        public uint Opcode { get; } = opcode;
        public byte[] Args { get; } = args;
        public string Operation { get; } = operation;
        public TaskCompletionSource<RawReply> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
