using DirectFuse.Protocol;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Session;

/// <summary>How a session mounts and serves.</summary>
public sealed record FuseSessionOptions
{
    public MountOptions Mount { get; init; } = new();
    /// <summary>Worker threads, each on its own cloned /dev/fuse fd.</summary>
    public int Threads { get; init; } = Math.Max(2, Environment.ProcessorCount);
    /// <summary>Largest WRITE the kernel may send (and size of the request buffers); at most 1 MiB.</summary>
    public uint MaxWrite { get; init; } = 1 << 20;
    /// <summary>
    /// Most requests held at once: those whose handlers are still running asynchronously (a blocking lock, a
    /// device read) plus one ready in each worker. At the limit the workers stop reading the device until a
    /// handler completes, and the kernel queues what callers send meanwhile. A pending request costs about
    /// 3 KiB, or max_write + 4 KiB while it holds WRITE data in place (see docs/operations.md, "Request memory").
    /// </summary>
    public int MaxPendingRequests { get; init; } = 4096;
    /// <summary>Log one line per request (opcode, node, uid, pid, result) at Information level.</summary>
    public bool Debug { get; init; }
    /// <summary>Capabilities to ask for in addition to the defaults (the file system's Init can still change them).</summary>
    public InitFlags ExtraCapabilities { get; init; }
    /// <summary>How long <see cref="FuseSession.Mount"/> waits for the kernel's INIT.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
