using DirectFuse.Testing.Engine;
using DirectFuse.Testing.Wire;
using static DirectFuse.Testing.Wire.WireReader;

namespace DirectFuse.Testing;

/// <summary>
/// Sends requests to the file system under test as one caller, the way the kernel would for that caller's system
/// calls, and returns typed replies. <see cref="FuseTestKernel"/> is the client of its default caller;
/// <see cref="FuseTestKernel.As(FuseCaller)"/> gives one for another caller on the same connection.
/// </summary>
/// <remarks>
/// Node ids and file handles are the file system's own numbers, as the kernel uses them: the root is
/// <see cref="FuseTestKernel.RootNodeId"/>, other nodes come from entry replies (<see cref="FuseEntry.NodeId"/>).
/// Modes are sent as given: on a mount the kernel has already applied the caller's umask. No kernel-side
/// permission check (default_permissions) is made: every request reaches the file system.
/// </remarks>
public partial class FuseTestClient
{
    private protected readonly KernelConnection _connection;

    private protected FuseTestClient(KernelConnection connection, FuseCaller caller)
    {
        _connection = connection;
        Caller = caller;
    }

    /// <summary>Who this client's requests come from.</summary>
    public FuseCaller Caller { get; }

    /// <summary>Lookup references the kernel holds on <paramref name="nodeId"/>: entries received minus those forgotten.</summary>
    /// <param name="nodeId">The node.</param>
    /// <returns>The count the kernel would return with FORGET once it drops the node.</returns>
    public ulong LookupCount(ulong nodeId) => _connection.Nodes.LookupCount(nodeId);

    private protected Task<RawReply> CallAsync(uint opcode, ulong nodeId, WireWriter args, string operation, CancellationToken cancellationToken) =>
        _connection.CallAsync(opcode, nodeId, args.ToArray(), Caller, operation, cancellationToken);

    /// <summary>Sends a request and converts a success with <paramref name="parse"/>.</summary>
    private protected async Task<FuseReply<T>> CallAsync<T>(uint opcode, ulong nodeId, WireWriter args, string operation,
        Func<byte[], T> parse, CancellationToken cancellationToken)
    {
        var reply = await CallAsync(opcode, nodeId, args, operation, cancellationToken).ConfigureAwait(false);
        if (reply.Error != 0) return new FuseReply<T>(operation, new Errno(-reply.Error), default);
        return new FuseReply<T>(operation, Errno.Ok, parse(reply.Payload));
    }

    /// <summary>Sends a request whose success carries nothing.</summary>
    private protected async Task<FuseReply> CallEmptyAsync(uint opcode, ulong nodeId, WireWriter args, string operation, CancellationToken cancellationToken)
    {
        var reply = await CallAsync(opcode, nodeId, args, operation, cancellationToken).ConfigureAwait(false);
        return new FuseReply(operation, new Errno(-reply.Error));
    }

    private protected static string Describe(uint opcode, ulong nodeId, string? detail = null) =>
        detail is null ? $"{Opcodes.NameOf(opcode)} on node {nodeId}" : $"{Opcodes.NameOf(opcode)} {detail}";

    private protected static string Quote(string name) => "\"" + name + "\"";

    /// <summary>
    /// A fuse_entry_out at <paramref name="at"/>, checked as the kernel checks it: a node id other than 0 (a
    /// negative entry, LOOKUP only) and the root's, attributes with a file type and a size within LLONG_MAX.
    /// </summary>
    private protected FuseEntry ParseEntry(byte[] payload, int at, uint opcode, string operation)
    {
        var p = payload.AsSpan(at);
        ulong nodeId = U64(p, 0);
        var entry = new FuseEntry
        {
            NodeId = nodeId,
            Generation = U64(p, 8),
            EntryTimeout = Timeout(U64(p, 16), U32(p, 32)),
            Attributes = Attr(p, 40, Timeout(U64(p, 24), U32(p, 36))),
        };
        if (nodeId == 0)
        {
            if (opcode == Opcodes.Lookup) return entry;
            throw new FuseProtocolViolationException(operation, "the new entry has node id 0, which is no node: the kernel answers the caller EIO");
        }
        if (nodeId == FuseTestKernel.RootNodeId && opcode != Opcodes.Lookup)
            throw new FuseProtocolViolationException(operation, "the new entry has the root's node id (1): the kernel answers the caller EIO");
        if (ReplyRules.CheckAttr(entry.Attributes) is { } bad) throw new FuseProtocolViolationException(operation, bad);
        _connection.Nodes.Referenced(nodeId, entry.Attributes.Type);
        return entry;
    }

    /// <summary>A fuse_attr_out for <paramref name="nodeId"/>, checked as fuse_do_getattr does.</summary>
    private protected FuseAttributes ParseAttrOut(byte[] payload, ulong nodeId, string operation)
    {
        var attr = Attr(payload, 16, Timeout(U64(payload, 0), U32(payload, 8)));
        if (ReplyRules.CheckAttr(attr) is { } bad) throw new FuseProtocolViolationException(operation, bad);
        if (_connection.Nodes.TypeOf(nodeId) is { } known && known != attr.Type)
            throw new FuseProtocolViolationException(operation,
                $"node {nodeId} was a {known} but its attributes now say {attr.Type}: the kernel marks the inode bad and every later access fails with EIO");
        return attr;
    }

    private protected static FuseOpenFile ParseOpen(ReadOnlySpan<byte> payload) => new(U64(payload, 0), (FuseOpenFlags)U32(payload, 8));
}
