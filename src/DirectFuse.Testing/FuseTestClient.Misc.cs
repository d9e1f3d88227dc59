using System.Text;
using DirectFuse.Testing.Wire;
using static DirectFuse.Testing.Wire.WireReader;

namespace DirectFuse.Testing;

public partial class FuseTestClient
{
    /// <summary>The value buffer the xattr helpers offer, XATTR_SIZE_MAX.</summary>
    private const int XattrBuffer = 64 * 1024;
    /// <summary>FUSE_SETXATTR_EXT: fuse_setxattr_in has its 16-byte form.</summary>
    private const ulong SetxattrExt = 1UL << 29;

    /// <summary>STATFS: the file system's capacity (statfs(2), df).</summary>
    /// <param name="nodeId">Any node of the file system; the root by default.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The figures, or the errno.</returns>
    public Task<FuseReply<FuseStatFs>> StatFsAsync(ulong nodeId = FuseTestKernel.RootNodeId, CancellationToken cancellationToken = default) =>
        CallAsync(Opcodes.StatFs, nodeId, new WireWriter(), Describe(Opcodes.StatFs, nodeId), p => new FuseStatFs
        {
            Blocks = U64(p, 0), BlocksFree = U64(p, 8), BlocksAvailable = U64(p, 16), Files = U64(p, 24), FilesFree = U64(p, 32),
            BlockSize = U32(p, 40), NameMax = U32(p, 44), FragmentSize = U32(p, 48),
        }, cancellationToken);

    /// <summary>ACCESS: access(2) with R_OK (4), W_OK (2), X_OK (1) or F_OK (0).</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="mask">What to check.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno (EACCES).</returns>
    public Task<FuseReply> AccessAsync(ulong nodeId, int mask, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.Access, nodeId, new WireWriter().U32((uint)mask).U32(0), Describe(Opcodes.Access, nodeId, $"{mask} on node {nodeId}"), cancellationToken);

    /// <summary>GETXATTR: an extended attribute's value.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="name">The attribute's name, with its namespace ("user.comment").</param>
    /// <param name="size">The caller's buffer size (ERANGE if the value is larger); 64 KiB by default.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The value, or the errno (ENODATA when there is none).</returns>
    public Task<FuseReply<byte[]>> GetXattrAsync(ulong nodeId, string name, int size = XattrBuffer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return CallAsync(Opcodes.GetXattr, nodeId, new WireWriter().U32((uint)size).U32(0).Name(name),
            Describe(Opcodes.GetXattr, nodeId, $"{Quote(name)} of node {nodeId}"), p => p, cancellationToken);
    }

    /// <summary>GETXATTR with size 0: how large an extended attribute's value is.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="name">The attribute's name.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The value's size, or the errno.</returns>
    public Task<FuseReply<int>> GetXattrSizeAsync(ulong nodeId, string name, CancellationToken cancellationToken = default) =>
        CallAsync(Opcodes.GetXattr, nodeId, new WireWriter().U32(0).U32(0).Name(name),
            Describe(Opcodes.GetXattr, nodeId, $"size of {Quote(name)} of node {nodeId}"), p => (int)U32(p, 0), cancellationToken);

    /// <summary>SETXATTR: sets an extended attribute.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="name">The attribute's name.</param>
    /// <param name="value">The value.</param>
    /// <param name="flags">XATTR_CREATE (1) or XATTR_REPLACE (2); 0 for either.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno.</returns>
    public Task<FuseReply> SetXattrAsync(ulong nodeId, string name, ReadOnlyMemory<byte> value, int flags = 0, CancellationToken cancellationToken = default)
    {
        var args = new WireWriter().U32((uint)value.Length).U32((uint)flags);
        // The 16-byte fuse_setxattr_in only once SETXATTR_EXT is negotiated, as the kernel does.
        if ((_connection.Negotiated & SetxattrExt) != 0) args.U32(0).U32(0);
        return CallEmptyAsync(Opcodes.SetXattr, nodeId, args.Name(name).Bytes(value.Span), Describe(Opcodes.SetXattr, nodeId, $"{Quote(name)} of node {nodeId}"), cancellationToken);
    }

    /// <summary>LISTXATTR: the names of a node's extended attributes.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The names, or the errno.</returns>
    public Task<FuseReply<IReadOnlyList<string>>> ListXattrAsync(ulong nodeId, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<string>>(Opcodes.ListXattr, nodeId, new WireWriter().U32(XattrBuffer).U32(0), Describe(Opcodes.ListXattr, nodeId),
            p => Encoding.UTF8.GetString(p).Split('\0', StringSplitOptions.RemoveEmptyEntries), cancellationToken);

    /// <summary>REMOVEXATTR: removes an extended attribute.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="name">The attribute's name.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno (ENODATA when there is none).</returns>
    public Task<FuseReply> RemoveXattrAsync(ulong nodeId, string name, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.RemoveXattr, nodeId, new WireWriter().Name(name), Describe(Opcodes.RemoveXattr, nodeId, $"{Quote(name)} of node {nodeId}"), cancellationToken);

    /// <summary>
    /// Sends any request as raw bytes: <paramref name="arguments"/> follow the 40-byte fuse_in_header the kit
    /// writes (length, opcode, a fresh unique, node id and this client's caller). The reply is checked like any
    /// other: its header always, its size where the kit knows the opcode.
    /// </summary>
    /// <param name="opcode">The FUSE opcode number (fuse.h's enum fuse_opcode: LOOKUP = 1, ...).</param>
    /// <param name="nodeId">The node id in the header.</param>
    /// <param name="arguments">The bytes after the header, laid out as fuse.h says.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The reply's payload (the bytes after fuse_out_header), or the errno.</returns>
    /// <exception cref="ArgumentException">The opcode takes no reply (FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY): use <see cref="SendRawWithoutReplyAsync"/>.</exception>
    public Task<FuseReply<byte[]>> SendRawAsync(uint opcode, ulong nodeId, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken = default)
    {
        if (Opcodes.TakesNoReply(opcode)) throw new ArgumentException($"{Opcodes.NameOf(opcode)} takes no reply; send it with {nameof(SendRawWithoutReplyAsync)}.", nameof(opcode));
        return CallAsync(opcode, nodeId, new WireWriter().Bytes(arguments.Span), Describe(opcode, nodeId), p => p, cancellationToken);
    }

    /// <summary>Sends a request that takes no reply (FORGET, BATCH_FORGET, NOTIFY_REPLY) as raw bytes after the header.</summary>
    /// <param name="opcode">The FUSE opcode number.</param>
    /// <param name="nodeId">The node id in the header.</param>
    /// <param name="arguments">The bytes after the header.</param>
    /// <returns>A task that completes once the request is sent.</returns>
    public Task SendRawWithoutReplyAsync(uint opcode, ulong nodeId, ReadOnlyMemory<byte> arguments)
    {
        _connection.Send(opcode, nodeId, arguments.ToArray(), Caller, Describe(opcode, nodeId));
        return Task.CompletedTask;
    }
}
