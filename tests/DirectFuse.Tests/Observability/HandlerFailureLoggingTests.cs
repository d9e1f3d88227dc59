using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Tests.Protocol;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Tests.Observability;

/// <summary>A handler that throws is answered EIO, and the session's logger gets an error with the opcode, the node and the exception.</summary>
public sealed class HandlerFailureLoggingTests
{
    [Fact]
    public void A_handler_exception_is_logged_as_an_error_with_opcode_node_and_exception()
    {
        var logger = new CapturingLogger();
        using var k = FakeKernel.StartInitialized(new Throwing(), logger: logger);
        Assert.Equal(-Errno.EIO.Value, k.Call(FuseOpcode.GetAttr, 7, Bytes.Of(new FuseGetAttrIn())).Error);

        var entry = Assert.Single(logger.Entries, e => e.Exception is InvalidOperationException);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains("GETATTR", entry.Message);
        Assert.Contains("node 7", entry.Message);
        Assert.Equal("the disk is on fire", entry.Exception!.Message);
    }

    private sealed class Throwing : LowLevelFileSystem
    {
        public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the disk is on fire");
    }
}
