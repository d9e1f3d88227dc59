using Microsoft.Extensions.Logging;

namespace DirectFuse.Testing;

/// <summary>How a <see cref="FuseTestKernel"/> runs the engine and checks what the file system answers.</summary>
public sealed record FuseTestKernelOptions
{
    /// <summary>
    /// Worker threads serving requests, as on a mount. One (the default) makes tests deterministic: requests are
    /// served in the order sent, so a FORGET is handled before the next request is answered. Handlers that go
    /// asynchronous still run concurrently.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// The largest WRITE the engine accepts (its request buffers are this plus 4 KiB); at most 1 MiB. Messages cross a
    /// socketpair whose buffers an unprivileged process cannot raise above net.core.wmem_max (about 208 KiB by
    /// default), so without CAP_NET_ADMIN keep WRITEs and READs below that; the default, 128 KiB, always fits.
    /// </summary>
    public uint MaxWrite { get; init; } = 128 * 1024;

    /// <summary>How long a request may go unanswered before the call throws <see cref="TimeoutException"/> (a real kernel would wait forever).</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Fail the call with <see cref="FuseFileSystemFaultException"/> when a handler throws an unexpected exception
    /// or forgets to reply (true, the default), or return the errno the engine answered instead (false); the
    /// faults are then in <see cref="FuseTestKernel.Faults"/>.
    /// </summary>
    public bool ThrowOnFileSystemFault { get; init; } = true;

    /// <summary>The caller of requests sent through the kernel itself; <see cref="FuseCaller.CurrentProcess"/> when null.</summary>
    public FuseCaller? Caller { get; init; }

    /// <summary>Where the engine's log goes (it is also watched for faults); nowhere when null.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Log one line per request, as a mount's debug option does.</summary>
    public bool Debug { get; init; }
}
