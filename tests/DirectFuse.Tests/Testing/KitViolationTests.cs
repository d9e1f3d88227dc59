using DirectFuse.LowLevel;
using DirectFuse.Testing;
using DirectFuse.Testing.Wire;
using DirectFuse.Tests.Protocol;

namespace DirectFuse.Tests.Testing;

/// <summary>The kit's selling point: what a real kernel would refuse, and handler failures, fail the test with a clear message.</summary>
public sealed class KitViolationTests
{
    private const ulong Root = FuseTestKernel.RootNodeId;

    /// <summary>A file system with the bugs file systems have: a mode without a file type, a thrown exception, a type that changes.</summary>
    private sealed class BuggyFileSystem : LowLevelFileSystem
    {
        public int Destroyed;
        public bool ThrowInDestroy;

        private static EntryReply Entry(ulong node, uint mode) =>
            new(new NodeId(node), new FileAttr { Ino = node, Mode = mode, NLink = 1 }, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => name.ToString() switch
        {
            "no-type" => new(Entry(2, 0x1A4)), // forgot StatMode.Regular
            "file" => new(Entry(3, StatMode.Regular | 0x1A4)),
            "throws" => throw new InvalidOperationException("bug in lookup"),
            "forbidden" => throw new FuseException(Errno.EACCES),
            _ => new(Errno.ENOENT),
        };

        // Node 3 is a regular file by its entry, a directory by its attributes.
        public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) =>
            new(new AttrReply(new FileAttr { Ino = node.Value, Mode = StatMode.Directory | 0x1ED, NLink = 2 }, TimeSpan.Zero));

        public override ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken) =>
            new(Entry(1, StatMode.Directory | 0x1ED)); // the root's id for a new directory

        public override ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
            new(new Errno(600)); // no errno the kernel takes

        public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
            new(buffer.Length + 1); // claims more than the buffer holds

        public override void Destroy()
        {
            Destroyed++;
            if (ThrowInDestroy) throw new InvalidOperationException("bug in destroy");
        }
    }

    [Fact]
    public async Task Attributes_without_a_file_type_are_a_protocol_violation()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem());
        var e = await Assert.ThrowsAsync<FuseProtocolViolationException>(() => kernel.LookupAsync(Root, "no-type"));
        Assert.Contains("LOOKUP \"no-type\" in node 1", e.Message);
        Assert.Contains("names no file type", e.Message);
        Assert.Contains("EIO", e.Message);
    }

    [Fact]
    public async Task A_getattr_that_changes_the_file_type_is_a_protocol_violation()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem());
        var file = (await kernel.LookupAsync(Root, "file")).Value;
        var e = await Assert.ThrowsAsync<FuseProtocolViolationException>(() => kernel.GetAttrAsync(file.NodeId));
        Assert.Contains("marks the inode bad", e.Violation);
    }

    [Fact]
    public async Task A_new_entry_with_the_roots_node_id_is_a_protocol_violation()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem());
        var e = await Assert.ThrowsAsync<FuseProtocolViolationException>(() => kernel.MkdirAsync(Root, "d"));
        Assert.Contains("root's node id", e.Message);
    }

    [Fact]
    public async Task An_errno_out_of_the_kernels_range_is_answered_eio_and_reported_as_a_fault()
    {
        // The engine never sends an errno the kernel refuses (its caller would wait until the connection is
        // aborted): it answers EIO and logs the handler's value, which the kit reports.
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem());
        var e = await Assert.ThrowsAsync<FuseFileSystemFaultException>(() => kernel.UnlinkAsync(Root, "x"));
        Assert.Contains("errno 600", e.Message);
        Assert.Contains("UNLINK", e.Message);
    }

    [Fact]
    public async Task An_errno_out_of_the_kernels_range_becomes_eio_when_faults_do_not_throw()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem(), new FuseTestKernelOptions { ThrowOnFileSystemFault = false });
        Assert.Equal(Errno.EIO, (await kernel.UnlinkAsync(Root, "x")).Errno);
    }

    [Fact]
    public async Task A_handler_that_throws_fails_the_call_with_its_exception()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem());
        var e = await Assert.ThrowsAsync<FuseFileSystemFaultException>(() => kernel.LookupAsync(Root, "throws"));
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Contains("LOOKUP", e.Message);
        Assert.Contains("bug in lookup", e.Message);
        // A FuseException is an answer, not a fault; the connection goes on.
        Assert.Equal(Errno.EACCES, (await kernel.LookupAsync(Root, "forbidden")).Errno);
    }

    [Fact]
    public async Task A_handler_overrunning_its_buffer_is_a_fault()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem());
        var e = await Assert.ThrowsAsync<FuseFileSystemFaultException>(() => kernel.ReadAsync(3, 0, 0, 10));
        Assert.Contains("11 bytes for a 10-byte buffer", e.Message);
    }

    [Fact]
    public async Task Without_throwing_a_fault_is_the_errno_the_kernel_got_and_is_listed()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new BuggyFileSystem(), new FuseTestKernelOptions { ThrowOnFileSystemFault = false });
        Assert.Equal(Errno.EIO, (await kernel.LookupAsync(Root, "throws")).Errno);
        Assert.Contains(kernel.Faults, f => f.Contains("bug in lookup"));
    }

    [Fact]
    public async Task Dispose_runs_destroy_and_reports_a_fault_no_call_saw()
    {
        var fs = new BuggyFileSystem { ThrowInDestroy = true };
        var kernel = await FuseTestKernel.StartAsync(fs);
        var e = await Assert.ThrowsAsync<FuseFileSystemFaultException>(async () => await kernel.DisposeAsync());
        Assert.Contains("bug in destroy", e.Message);
        Assert.Equal(1, fs.Destroyed);
        await kernel.DisposeAsync(); // a second dispose does nothing
        await Assert.ThrowsAsync<ObjectDisposedException>(() => kernel.LookupAsync(Root, "file"));
    }

    [Fact]
    public async Task Cancelling_a_call_interrupts_the_handler()
    {
        var fs = new TestFileSystem();
        await using var kernel = await FuseTestKernel.StartAsync(fs);
        using var cts = new CancellationTokenSource();
        var call = kernel.LookupAsync(Root, "hang", cts.Token);
        Assert.True(SpinWait.SpinUntil(() => fs.HangStarted, TimeSpan.FromSeconds(5)));
        cts.Cancel();
        Assert.Equal(Errno.EINTR, (await call).Errno);
    }

    [Theory]
    [InlineData(Opcodes.GetAttr, 0, 103, "instead of fuse_attr_out (104 bytes)")]
    [InlineData(Opcodes.Lookup, 0, 120, "instead of fuse_entry_out (128 bytes)")]
    [InlineData(Opcodes.Unlink, 0, 8, "instead of nothing")]
    [InlineData(Opcodes.Lookup, -2, 8, "error reply (-2) carries 8 bytes")]
    [InlineData(Opcodes.Lookup, -512, 0, "not a negative errno below 512")]
    [InlineData(Opcodes.Lookup, 5, 0, "not a negative errno below 512")]
    public void The_kernels_reply_rules_refuse(uint opcode, int error, int payload, string expected)
    {
        var violation = ReplyRules.Check(opcode, [], error, new byte[payload]);
        Assert.NotNull(violation);
        Assert.Contains(expected, violation);
    }

    [Fact]
    public void The_kernels_reply_rules_bound_variable_replies_by_the_request()
    {
        var read = new WireWriter().U64(0).U64(0).U32(100).U32(0).U64(0).U32(0).U32(0).ToArray();
        Assert.Null(ReplyRules.Check(Opcodes.Read, read, 0, new byte[100]));
        Assert.Contains("more than the READ size", ReplyRules.Check(Opcodes.Read, read, 0, new byte[101]));
        var sizeQuery = new WireWriter().U32(0).U32(0).Name("user.x").ToArray();
        Assert.Null(ReplyRules.Check(Opcodes.GetXattr, sizeQuery, 0, new byte[8]));
        Assert.NotNull(ReplyRules.Check(Opcodes.GetXattr, sizeQuery, 0, new byte[4]));
        var write = new WireWriter().U64(0).U64(0).U32(10).U32(0).U64(0).U32(0).U32(0).ToArray();
        Assert.Contains("claims 11 written", ReplyRules.Check(Opcodes.Write, write, 0, new WireWriter().U32(11).U32(0).ToArray()));
        // A listing name with a '/'.
        var dirent = new WireWriter().U64(5).U64(1).U32(3).U32(8).Bytes("a/b"u8).Zeros(5).ToArray();
        Assert.Contains("with a '/'", ReplyRules.CheckListing(dirent, plus: false));
    }
}
