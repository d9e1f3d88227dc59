using DirectFuse.LowLevel;
using DirectFuse.PathApi;
using DirectFuse.Testing.Engine;
using DirectFuse.Testing.Wire;
using static DirectFuse.Testing.Wire.WireReader;

namespace DirectFuse.Testing;

/// <summary>
/// A fake kernel for unit tests: runs the real DirectFuse engine (the dispatcher, request pool and worker threads
/// a mount runs) on one end of a socketpair and plays the kernel on the other, so tests send LOOKUP, READ, WRITE,
/// CREATE, READDIR and the rest to a file system and check typed replies, with no mount, no root and no
/// /dev/fuse. Each reply is checked as the kernel checks it; one the kernel would refuse fails the call with
/// <see cref="FuseProtocolViolationException"/>, a handler that throws fails it with
/// <see cref="FuseFileSystemFaultException"/>.
/// </summary>
/// <example>
/// <code>
/// await using var kernel = await FuseTestKernel.StartAsync(new MyFileSystem());
/// var hello = (await kernel.LookupAsync(FuseTestKernel.RootNodeId, "hello")).Value;
/// var file = (await kernel.OpenAsync(hello.NodeId)).Value;
/// byte[] text = (await kernel.ReadAsync(hello.NodeId, file.Handle, 0, 4096)).Value;
/// Assert.Equal(Errno.ENOENT, (await kernel.LookupAsync(1, "missing")).Errno);
/// </code>
/// </example>
public sealed class FuseTestKernel : FuseTestClient, IAsyncDisposable, IDisposable
{
    /// <summary>The root directory's node id (FUSE_ROOT_ID).</summary>
    public const ulong RootNodeId = 1;

    // What a current kernel offers at INIT, less what the kit cannot play: passthrough backing files, security
    // contexts and idmapped mounts (request extensions), DAX and io_uring. INIT_RESERVED is never offered.
    private const ulong Offered = 0x7FFF_FFFFUL
        | 1UL << 34 /* CREATE_SUPP_GROUP */ | 1UL << 35 /* HAS_EXPIRE_ONLY */ | 1UL << 36 /* DIRECT_IO_ALLOW_MMAP */
        | 1UL << 38 /* NO_EXPORT_SUPPORT */ | 1UL << 39 /* HAS_RESEND */ | 1UL << 42 /* REQUEST_TIMEOUT */;
    private const uint ProtocolMajor = 7, ProtocolMinor = 45;

    private readonly FuseTestKernelOptions _options;
    private int _disposed;

    private FuseTestKernel(KernelConnection connection, FuseTestKernelOptions options)
        : base(connection, options.Caller ?? FuseCaller.CurrentProcess)
    {
        _options = options;
    }

    /// <summary>Starts the engine for an inode-based file system and answers its INIT.</summary>
    /// <param name="fileSystem">The file system under test.</param>
    /// <param name="options">How to run it; defaults when null.</param>
    /// <param name="cancellationToken">Abandons the start.</param>
    /// <returns>The kernel, ready for requests; dispose it to end the connection (the file system's Destroy runs).</returns>
    /// <exception cref="FuseFileSystemFaultException">The file system's Init threw.</exception>
    public static async Task<FuseTestKernel> StartAsync(LowLevelFileSystem fileSystem, FuseTestKernelOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        options ??= new FuseTestKernelOptions();
        var kernel = new FuseTestKernel(new KernelConnection(fileSystem, options), options);
        try
        {
            await kernel.InitAsync(cancellationToken).ConfigureAwait(false);
            return kernel;
        }
        catch
        {
            kernel._connection.Dispose();
            throw;
        }
    }

    /// <summary>Starts the engine for a path-based file system (through <see cref="PathFileSystemAdapter"/>, as a mount does) and answers its INIT.</summary>
    /// <param name="fileSystem">The file system under test.</param>
    /// <param name="options">How to run it; defaults when null.</param>
    /// <param name="pathOptions">The adapter's options (timeouts, inode numbers, ...); defaults when null.</param>
    /// <param name="cancellationToken">Abandons the start.</param>
    /// <returns>The kernel, ready for requests.</returns>
    public static Task<FuseTestKernel> StartAsync(PathFileSystem fileSystem, FuseTestKernelOptions? options = null, PathFileSystemOptions? pathOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        return StartAsync(new PathFileSystemAdapter(fileSystem, pathOptions), options, cancellationToken);
    }

    /// <summary>A client that sends requests as <paramref name="caller"/> on this connection (to test permission checks).</summary>
    /// <param name="caller">Who the requests come from.</param>
    /// <returns>A client sharing this kernel; it needs no disposing.</returns>
    public FuseTestClient As(FuseCaller caller) => new CallerClient(_connection, caller);

    /// <summary>The protocol version the engine answered INIT with (7.45 for a current engine).</summary>
    public Version ProtocolVersion { get; private set; } = new(0, 0);

    /// <summary>The largest WRITE the engine accepts (fuse_init_out.max_write).</summary>
    public uint MaxWrite { get; private set; }

    /// <summary>
    /// What the file system did wrong so far, one line each: handler exceptions, handlers that forgot to reply,
    /// replies the kernel would refuse that answered no call. With <see cref="FuseTestKernelOptions.ThrowOnFileSystemFault"/>
    /// (the default) each also fails the call it came with, or the next one.
    /// </summary>
    public IReadOnlyList<string> Faults => [.. _connection.Faults.All.Select(f => f.Message)];

    /// <summary>Takes the notifications the file system sent since the last call (invalidations, stores, poll wakeups).</summary>
    /// <returns>The notifications, oldest first.</returns>
    public IReadOnlyList<FuseNotification> TakeNotifications() => _connection.TakeNotifications();

    private async Task InitAsync(CancellationToken cancellationToken)
    {
        var args = new WireWriter().U32(ProtocolMajor).U32(ProtocolMinor).U32(128 * 1024)
            .U32(unchecked((uint)Offered)).U32((uint)(Offered >> 32)).Zeros(44);
        var reply = await CallAsync(Opcodes.Init, 0, args, "INIT", cancellationToken).ConfigureAwait(false);
        if (reply.Error != 0)
            throw _connection.Faults.TakeUnreported() is { Count: > 0 } faults
                ? KernelConnection.ToException("INIT", faults)
                : new FuseProtocolViolationException("INIT", $"INIT was answered with {new Errno(-reply.Error)}: the kernel fails the mount");
        var p = reply.Payload;
        if (p.Length < 24) throw new FuseProtocolViolationException("INIT", $"the INIT reply has {p.Length} bytes, too few for fuse_init_out: the kernel fails the mount");
        ProtocolVersion = new Version((int)U32(p, 0), (int)U32(p, 4));
        ulong flags = U32(p, 12);
        if ((flags & (1UL << 30)) != 0 && p.Length >= 36) flags |= (ulong)U32(p, 32) << 32;
        _connection.Negotiated = flags & Offered;
        MaxWrite = _connection.MaxWrite = U32(p, 20);
        // Like a mount: nothing is sent until the engine has taken its own INIT reply.
        try
        {
            await _connection.Core.InitCompleted.WaitAsync(_options.ReplyTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"INIT was answered but the engine did not complete it within {_options.ReplyTimeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>
    /// Ends the connection as an unmount does: the engine's workers stop, running handlers are waited for, and
    /// the file system's Destroy runs.
    /// </summary>
    /// <exception cref="FuseFileSystemFaultException">A fault no call reported yet (a FORGET handler or Destroy threw).</exception>
    /// <exception cref="FuseProtocolViolationException">A reply the kernel would refuse answered no call.</exception>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _connection.Dispose();
        if (_options.ThrowOnFileSystemFault && _connection.Faults.TakeUnreported() is { Count: > 0 } faults)
            throw KernelConnection.ToException("while the connection ran", faults);
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        // Joining the workers is quick; a thread-pool hop would only hide an exception's stack.
        Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class CallerClient(KernelConnection connection, FuseCaller caller) : FuseTestClient(connection, caller);
}
