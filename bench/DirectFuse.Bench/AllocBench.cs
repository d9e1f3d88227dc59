using System.Diagnostics;
using System.Runtime.InteropServices;
using DirectFuse.Examples.Loopback;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Bench;

/// <summary>
/// The server's own cost per request, measured against a fake kernel (the tests' approach): the library's
/// real worker loop (<c>FuseSessionCore.RunWorker</c>: read, parse, dispatch, reply) serves one end of a
/// SOCK_SEQPACKET socketpair on its own thread; this thread plays the kernel, sending one request and reading
/// its reply at a time from pre-built, pinned buffers (it allocates nothing itself). Per opcode and run:
/// bytes allocated by the whole process per request (GC.GetTotalAllocatedBytes, precise) and the round trip
/// time, and the on-CPU time of the server's worker thread per request (its schedstat: read, dispatch,
/// handler, reply write, including the socket syscalls). Two file systems: a null one (the library alone) and the loopback example over a temporary
/// directory (library + a real handler making syscalls).
/// </summary>
internal static unsafe class AllocBench
{
    private static readonly FuseOpcode[] Measured = [FuseOpcode.Lookup, FuseOpcode.GetAttr, FuseOpcode.Read, FuseOpcode.Write];

    public static int Run(string[] args)
    {
        int requests = int.Parse(Program.Option(args, "--requests", "100000"));
        int runs = int.Parse(Program.Option(args, "--runs", "5"));
        string telemetry = Program.Option(args, "--telemetry", "none");
        using var listener = TelemetryListener.Start(telemetry);
        string suffix = telemetry == "none" ? "" : "+" + telemetry;
        string dir = Path.Combine(Path.GetTempPath(), $"directfuse-bench-alloc-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "f"), new byte[1 << 20]);
            Measure("null" + suffix, new NullFileSystem(), requests, runs);
            Measure("loopback" + suffix, new LoopbackFileSystem(dir, new LoopbackOptions { UsePassthrough = false }), requests, runs);
            if (telemetry == "none") MeasureRaw(requests, runs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        return 0;
    }

    private sealed class Kernel : IDisposable
    {
        private int _fd;
        private readonly byte[] _reply = GC.AllocateUninitializedArray<byte>(2 << 20, pinned: true);
        private readonly FuseSessionCore? _core;
        private readonly FuseChannel _channel;
        private readonly Thread _worker;
        private ulong _unique;
        private int _workerTid;

        /// <summary>On-CPU time of the server's worker thread so far, in seconds (/proc/self/task/TID/schedstat, ns).</summary>
        public double WorkerCpuSeconds() =>
            long.Parse(File.ReadAllText($"/proc/self/task/{_workerTid}/schedstat").Split(' ')[0]) / 1e9;

        public Kernel(LowLevelFileSystem? fs)
        {
            int* sv = stackalloc int[2];
            if (Native.socketpair(Native.AF_UNIX, Native.SOCK_SEQPACKET | Native.SOCK_CLOEXEC, 0, sv) != 0)
                throw new InvalidOperationException($"socketpair: errno {Marshal.GetLastPInvokeError()}");
            _fd = sv[0];
            int serverFd = sv[1];
            _channel = new FuseChannel(serverFd, "bench");
            _core = fs is null ? null : new FuseSessionCore(fs, new FuseSessionOptions { Threads = 1 }, NullLogger.Instance) { ControlChannel = _channel };
            _worker = new Thread(() =>
            {
                Volatile.Write(ref _workerTid, Native.gettid());
                if (fs is null) RawEcho(serverFd);
                else _core!.RunWorker(_channel);
            }) { IsBackground = true, Name = "bench-worker" };
            _worker.Start();
            while (Volatile.Read(ref _workerTid) == 0) Thread.Yield();
        }

        private int _replyLength;

        /// <summary>
        /// The floor: a server loop with no library, only the same syscalls (read into a 1 MiB buffer, writev of
        /// header + payload of the size the library's reply has), from the same kind of LibraryImport stubs.
        /// </summary>
        private static void RawEcho(int fd)
        {
            byte[] inBuffer = GC.AllocateUninitializedArray<byte>((1 << 20) + 4096, pinned: true);
            byte[] outBuffer = GC.AllocateArray<byte>((1 << 20) + 4096, pinned: true);
            fixed (byte* input = inBuffer)
            fixed (byte* output = outBuffer)
            {
                var iov = stackalloc Native.IoVec[2];
                while (true)
                {
                    nint n = Native.read(fd, input, inBuffer.Length);
                    if (n <= 0) return;
                    var opcode = (FuseOpcode)(*(uint*)(input + 4));
                    int payload = opcode switch
                    {
                        FuseOpcode.Lookup => 128,
                        FuseOpcode.GetAttr => 104,
                        FuseOpcode.Read => 4096,
                        FuseOpcode.Write => 8,
                        _ => 0,
                    };
                    var header = new FuseOutHeader { Len = (uint)(FuseOutHeader.Size + payload), Error = 0, Unique = *(ulong*)(input + 8) };
                    iov[0] = new Native.IoVec { Base = (byte*)&header, Len = FuseOutHeader.Size };
                    iov[1] = new Native.IoVec { Base = output, Len = payload };
                    if (Native.writev(fd, iov, payload == 0 ? 1 : 2) < 0) return;
                }
            }
        }

        public ReadOnlySpan<byte> LastReply => _reply.AsSpan(FuseOutHeader.Size, _replyLength);

        /// <summary>Builds a request (pinned) whose unique is rewritten before each send.</summary>
        public static byte[] Build(FuseOpcode opcode, ulong nodeId, ReadOnlySpan<byte> args)
        {
            var bytes = GC.AllocateArray<byte>(FuseInHeader.Size + args.Length, pinned: true);
            var h = new FuseInHeader { Len = (uint)bytes.Length, Opcode = opcode, NodeId = nodeId, Uid = 0, Gid = 0, Pid = 1 };
            MemoryMarshal.Write(bytes, in h);
            args.CopyTo(bytes.AsSpan(FuseInHeader.Size));
            return bytes;
        }

        /// <summary>Sends one request and reads its reply; returns the reply's error field.</summary>
        public int Call(byte[] request)
        {
            _unique += 2;
            fixed (byte* p = request)
            {
                *(ulong*)(p + 8) = _unique;
                if (Native.write(_fd, p, request.Length) != request.Length)
                    throw new InvalidOperationException($"write: errno {Marshal.GetLastPInvokeError()}");
            }
            nint n;
            fixed (byte* r = _reply) n = Native.read(_fd, r, _reply.Length);
            if (n < FuseOutHeader.Size) throw new InvalidOperationException($"read: {n}, errno {Marshal.GetLastPInvokeError()}");
            var header = MemoryMarshal.Read<FuseOutHeader>(_reply);
            if (header.Unique != _unique) throw new InvalidOperationException($"reply to {header.Unique}, expected {_unique}");
            _replyLength = (int)n - FuseOutHeader.Size;
            return header.Error;
        }

        public void Init()
        {
            // What a 7.45 kernel offers (kernel-facts.md), without FUSE_PASSTHROUGH: a socketpair has no backing-file ioctls.
            var init = new FuseInitIn { Major = 7, Minor = 45, MaxReadahead = 128 << 10, Flags = 0x73fffffb, Flags2 = 0x5fd & ~0x20u };
            var args = new byte[FuseInitIn.Size];
            MemoryMarshal.Write(args, in init);
            int error = Call(Build(FuseOpcode.Init, 0, args));
            if (error != 0) throw new InvalidOperationException($"INIT failed: {error}");
            if (!_core!.InitCompleted.Wait(5000)) throw new InvalidOperationException("INIT never completed");
        }

        public void Dispose()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0) Native.close(fd);
            _worker.Join(5000);
            _channel.Dispose();
        }
    }

    /// <summary>The syscall floor (no library): what a request costs a server thread that only reads and replies.</summary>
    private static void MeasureRaw(int requests, int runs)
    {
        using var k = new Kernel(null);
        var data = new byte[4096];
        var requestsByOpcode = new Dictionary<FuseOpcode, byte[]>
        {
            [FuseOpcode.Lookup] = Kernel.Build(FuseOpcode.Lookup, 1, "f\0"u8),
            [FuseOpcode.GetAttr] = Kernel.Build(FuseOpcode.GetAttr, 2, Bytes(new FuseGetAttrIn())),
            [FuseOpcode.Read] = Kernel.Build(FuseOpcode.Read, 2, Bytes(new FuseReadIn { Fh = 1, ReadSize = 4096 })),
            [FuseOpcode.Write] = Kernel.Build(FuseOpcode.Write, 2, [.. Bytes(new FuseWriteIn { Fh = 1, WriteSize = 4096 }), .. data]),
        };
        Loop(k, "raw-syscalls", requestsByOpcode, requests, runs, allocation: false);
    }

    private static void Measure(string name, LowLevelFileSystem fs, int requests, int runs)
    {
        using var k = new Kernel(fs);
        k.Init();

        byte[] lookup = Kernel.Build(FuseOpcode.Lookup, 1, "f\0"u8);
        if (k.Call(lookup) != 0) throw new InvalidOperationException($"{name}: LOOKUP f failed");
        ulong node = MemoryMarshal.Read<FuseEntryOut>(k.LastReply).NodeId;
        byte[] open = Kernel.Build(FuseOpcode.Open, node, Bytes(new FuseOpenIn { Flags = 2 /* O_RDWR */ }));
        if (k.Call(open) != 0) throw new InvalidOperationException($"{name}: OPEN failed");
        ulong fh = MemoryMarshal.Read<FuseOpenOut>(k.LastReply).Fh;

        var data = new byte[4096];
        Random.Shared.NextBytes(data);
        var requestsByOpcode = new Dictionary<FuseOpcode, byte[]>
        {
            [FuseOpcode.Lookup] = lookup,
            [FuseOpcode.GetAttr] = Kernel.Build(FuseOpcode.GetAttr, node, Bytes(new FuseGetAttrIn())),
            [FuseOpcode.Read] = Kernel.Build(FuseOpcode.Read, node, Bytes(new FuseReadIn { Fh = fh, Offset = 0, ReadSize = 4096 })),
            [FuseOpcode.Write] = Kernel.Build(FuseOpcode.Write, node,
                [.. Bytes(new FuseWriteIn { Fh = fh, Offset = 0, WriteSize = (uint)data.Length }), .. data]),
        };

        Loop(k, "directfuse-" + name, requestsByOpcode, requests, runs, allocation: true);
    }

    private static void Loop(Kernel k, string contender, Dictionary<FuseOpcode, byte[]> requestsByOpcode, int requests, int runs, bool allocation)
    {
        string name = contender;
        // Warm up until tiered compilation has settled (tier-1 promotion happens on a background thread after ~100 ms).
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 1500)
            foreach (var op in Measured)
                for (int i = 0; i < 1000; i++) Check(k.Call(requestsByOpcode[op]), name, op);
        Thread.Sleep(300);

        foreach (var op in Measured)
        {
            byte[] request = requestsByOpcode[op];
            string label = op.ToString().ToUpperInvariant();
            for (int run = 0; run < runs; run++)
            {
                double workerCpu = k.WorkerCpuSeconds();
                long allocated = GC.GetTotalAllocatedBytes(precise: true);
                long start = Stopwatch.GetTimestamp();
                int errors = 0;
                for (int i = 0; i < requests; i++) errors |= k.Call(request);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                double cpuSeconds = k.WorkerCpuSeconds() - workerCpu;
                Check(errors, name, op);
                if (allocation) Program.Result($"alloc-{label}", contender, allocated / (double)requests, "B/req");
                Program.Result($"fakekernel-rtt-{label}", contender, seconds / requests * 1e6, "us/req");
                Program.Result($"server-thread-cpu-{label}", contender, cpuSeconds / requests * 1e6, "us/req");
            }
        }
    }

    private static void Check(int error, string name, FuseOpcode op)
    {
        if (error != 0) throw new InvalidOperationException($"{name}: {op} answered {error}");
    }

    private static byte[] Bytes<T>(T value) where T : unmanaged
    {
        var bytes = new byte[Marshal.SizeOf<T>()];
        MemoryMarshal.Write(bytes, in value);
        return bytes;
    }
}
