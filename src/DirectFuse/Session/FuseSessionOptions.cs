using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Session;

/// <summary>How a session mounts and serves.</summary>
public sealed record FuseSessionOptions
{
    /// <summary>The mount options (the <c>-o</c> list); libfuse's defaults (nosuid, nodev) unless set.</summary>
    public MountOptions Mount { get; init; } = new();
    /// <summary>Worker threads, each on its own cloned /dev/fuse fd.</summary>
    public int Threads { get; init; } = Math.Max(2, Environment.ProcessorCount);
    /// <summary>Largest WRITE the kernel may send (and size of the request buffers); at most 1 MiB.</summary>
    public uint MaxWrite { get; init; } = 1 << 20;
    /// <summary>
    /// Most requests held at once: those whose handlers are still running asynchronously (a blocking lock, a
    /// device read) plus one ready in each worker. At the limit the workers stop reading the device until a
    /// handler completes, and the kernel queues what callers send meanwhile. A waiting request costs a few KiB
    /// plus what it carries; one of more than 16 KiB (a large WRITE) holds a max_write + 4 KiB buffer. Values
    /// below 1 count as 1. See docs/operations.md, "Request memory", for what happens at the cap.
    /// </summary>
    public int MaxPendingRequests { get; init; } = 4096;
    /// <summary>
    /// Log one line per request (unique id, opcode, node, uid, pid, result) at Information level, through
    /// <see cref="LoggerFactory"/> (category "DirectFuse"): with the default factory, which discards everything,
    /// nothing is printed.
    /// </summary>
    public bool Debug { get; init; }
    /// <summary>Capabilities to ask for in addition to the defaults (the file system's Init can still change them).</summary>
    public InitFlags ExtraCapabilities { get; init; }
    /// <summary>
    /// Serve requests over FUSE-over-io_uring (Linux 6.14+, the fuse module's <c>enable_uring</c> parameter set to
    /// Y): one ring queue per possible CPU, each served by a thread pinned to that CPU, answering each request
    /// with COMMIT_AND_FETCH instead of a write(2) and a read(2). FORGET, INTERRUPT, notifications and
    /// passthrough ioctls stay on /dev/fuse. When anything is missing (no kernel support, the parameter off,
    /// io_uring disabled, a setup error) the session serves /dev/fuse as usual and says why in
    /// <see cref="FuseSession.TransportReason"/> and in one log line. Off by default. Each queue holds 8 entries
    /// of max_write bytes (more while handlers wait), allocated up front but touched only as requests use them.
    /// <see cref="Threads"/> does not apply to the rings: a handler that blocks its thread instead of going
    /// asynchronous holds up the later requests from its CPU until it returns. When waiting handlers hold a
    /// queue's entries and a burst may have found none free, the queue fetches what the kernel queued by having a
    /// thread on its CPU stat the mount root (extra GETATTRs of the root, only then).
    /// </summary>
    public bool UseIoUring { get; init; }
    /// <summary>How long <see cref="FuseSession.Mount"/> waits for the kernel's INIT.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Where the session logs (category "DirectFuse"): a handler that throws (answered EIO or its
    /// <see cref="FuseException"/>'s errno) at Error with the opcode, node and exception; malformed requests and
    /// refused replies at Warning; mount, INIT and transport at Information. The default discards everything;
    /// with Microsoft.Extensions.Logging.Console, <c>LoggerFactory = LoggerFactory.Create(b =&gt; b.AddConsole())</c>
    /// prints it.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
