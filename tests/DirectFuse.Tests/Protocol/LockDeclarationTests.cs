using DirectFuse.Examples.Loopback;
using DirectFuse.Examples.MemFs;
using DirectFuse.LowLevel;
using DirectFuse.PathApi;
using DirectFuse.Protocol;
using DirectFuse.Tests.PathApi;

namespace DirectFuse.Tests.Protocol;

/// <summary>
/// The lock capabilities asked for at INIT follow what the file system declares in <c>ServedLocks</c>, and
/// nothing else: a file system that implements lock handlers but declares nothing keeps the kernel's own locks.
/// </summary>
public sealed class LockDeclarationTests
{
    private const InitFlags LockFlags = InitFlags.PosixLocks | InitFlags.FlockLocks;

    public static TheoryData<LockKinds, InitFlags> Declarations => new()
    {
        { LockKinds.None, InitFlags.None },
        { LockKinds.Posix, InitFlags.PosixLocks },
        { LockKinds.Flock, InitFlags.FlockLocks },
        { LockKinds.Posix | LockKinds.Flock, InitFlags.PosixLocks | InitFlags.FlockLocks },
    };

    private static InitFlags NegotiatedLocks(LowLevelFileSystem fs, InitFlags offer = default)
    {
        using var k = new FakeKernel(fs);
        var (m, o, _) = k.InitModern(offer);
        Assert.Equal(0, m.Error);
        return (InitFlags)o.Flags & LockFlags;
    }

    [Theory]
    [MemberData(nameof(Declarations))]
    public void Low_level_file_system_gets_exactly_the_declared_lock_capabilities(LockKinds declared, InitFlags expected)
    {
        Assert.Equal(expected, NegotiatedLocks(new TestFileSystem { Locks = declared }));
    }

    [Theory]
    [MemberData(nameof(Declarations))]
    public void Path_file_system_gets_exactly_the_declared_lock_capabilities(LockKinds declared, InitFlags expected)
    {
        var adapter = new PathFileSystemAdapter(new MemoryPathFileSystem { Locks = declared });
        Assert.Equal(declared, adapter.ServedLocks);
        Assert.Equal(expected, NegotiatedLocks(adapter));
    }

    [Fact]
    public void Lock_handlers_without_a_declaration_leave_locks_to_the_kernel()
    {
        // The conservative reading of a forgotten declaration: the kernel keeps locks (they work, locally),
        // rather than handing them to handlers that might not be complete.
        Assert.Equal(InitFlags.None, NegotiatedLocks(new UndeclaredLocks()));
        Assert.Equal(InitFlags.None, NegotiatedLocks(new PathFileSystemAdapter(new MemoryPathFileSystem())));
    }

    [Fact]
    public void A_declared_kind_the_kernel_does_not_offer_is_not_negotiated()
    {
        var offer = FakeKernel.ModernOffer & ~InitFlags.FlockLocks;
        Assert.Equal(InitFlags.PosixLocks, NegotiatedLocks(new TestFileSystem { Locks = LockKinds.Posix | LockKinds.Flock }, offer));
    }

    [Fact]
    public void Init_may_still_give_up_a_declared_kind()
    {
        var fs = new TestFileSystem { Locks = LockKinds.Posix | LockKinds.Flock, OnInit = c => c.Want &= ~InitFlags.FlockLocks };
        Assert.Equal(InitFlags.PosixLocks, NegotiatedLocks(fs));
    }

    [Fact]
    public void The_examples_that_serve_locks_declare_both_kinds()
    {
        Assert.Equal(LockFlags, NegotiatedLocks(new MemFileSystem()));
        string source = Directory.CreateTempSubdirectory("df-locks-").FullName;
        try
        {
            Assert.Equal(LockFlags, NegotiatedLocks(new LoopbackFileSystem(source)));
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    /// <summary>Implements both lock calls but forgets to declare them.</summary>
    private sealed class UndeclaredLocks : LowLevelFileSystem
    {
        public override ValueTask<Result<FileLock>> GetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, CancellationToken cancellationToken) =>
            Done<FileLock>(@lock with { Type = FileLock.Unlock });

        public override ValueTask<Errno> SetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, bool wait, bool isFlock, CancellationToken cancellationToken) =>
            Done(Errno.Ok);
    }
}
