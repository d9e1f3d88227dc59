using System.Text;
using DirectFuse.Examples.MemFs;
using DirectFuse.Testing;

namespace DirectFuse.Tests.Testing;

/// <summary>The testing kit against an inode-based file system (memfs): every typed request, end to end through the engine.</summary>
public sealed class KitLowLevelTests
{
    private const ulong Root = FuseTestKernel.RootNodeId;

    private static Task<FuseTestKernel> Start() =>
        FuseTestKernel.StartAsync(new MemFileSystem(new MemFileSystemOptions { RootMode = 0x1FF, RootUid = 0, RootGid = 0 }),
            new FuseTestKernelOptions { Caller = FuseCaller.Root });

    [Fact]
    public async Task Init_reports_the_protocol_and_max_write()
    {
        await using var kernel = await Start();
        Assert.Equal(new Version(7, 45), kernel.ProtocolVersion);
        Assert.Equal(128u * 1024, kernel.MaxWrite);
    }

    [Fact]
    public async Task Create_write_read_back_and_list()
    {
        await using var kernel = await Start();
        var created = (await kernel.CreateAsync(Root, "notes.txt", 0x1A4)).Value;
        Assert.True(created.Entry.Attributes.IsRegularFile);
        Assert.Equal(0x1A4u, created.Entry.Attributes.Permissions);
        Assert.Equal(1ul, kernel.LookupCount(created.Entry.NodeId));

        Assert.Equal(5, (await kernel.WriteAsync(created.Entry.NodeId, created.File.Handle, 0, "hello"u8.ToArray())).Value);
        Assert.Equal(6, (await kernel.WriteAsync(created.Entry.NodeId, created.File.Handle, 5, " world"u8.ToArray())).Value);
        Assert.Equal("hello world", Encoding.UTF8.GetString((await kernel.ReadAsync(created.Entry.NodeId, created.File.Handle, 0, 100)).Value));
        Assert.Empty((await kernel.ReadAsync(created.Entry.NodeId, created.File.Handle, 100, 100)).Value);
        (await kernel.FlushAsync(created.Entry.NodeId, created.File.Handle)).ThrowIfError();
        (await kernel.ReleaseAsync(created.Entry.NodeId, created.File.Handle)).ThrowIfError();

        Assert.Equal("hello world", Encoding.UTF8.GetString((await kernel.ReadFileAsync("/notes.txt")).Value));
        Assert.Equal(11, (await kernel.GetAttrAsync(created.Entry.NodeId)).Value.Size);

        var listing = (await kernel.ReadDirAsync(Root)).Value;
        var notes = Assert.Single(listing, e => e.Name == "notes.txt");
        Assert.Equal(FuseFileType.RegularFile, notes.Type);
    }

    [Fact]
    public async Task Directories_links_rename_and_removal()
    {
        await using var kernel = await Start();
        var dir = (await kernel.MkdirAsync(Root, "a")).Value;
        Assert.True(dir.Attributes.IsDirectory);
        var sub = (await kernel.MkdirAsync(dir.NodeId, "b")).Value;
        Assert.Equal(sub.NodeId, (await kernel.LookupPathAsync("a/b")).Value.NodeId);
        Assert.Equal(sub.NodeId, (await kernel.LookupPathAsync("/a/b/")).Value.NodeId);
        Assert.Equal(Root, (await kernel.LookupPathAsync("/")).Value.NodeId);

        var link = (await kernel.SymlinkAsync(dir.NodeId, "to-b", "b")).Value;
        Assert.True(link.Attributes.IsSymlink);
        Assert.Equal("b", (await kernel.ReadLinkAsync(link.NodeId)).Value);

        var file = (await kernel.CreateAsync(dir.NodeId, "f")).Value;
        (await kernel.ReleaseAsync(file.Entry.NodeId, file.File.Handle)).ThrowIfError();
        var hard = (await kernel.LinkAsync(file.Entry.NodeId, Root, "f-again")).Value;
        Assert.Equal(file.Entry.NodeId, hard.NodeId);
        Assert.Equal(2u, hard.Attributes.LinkCount);

        (await kernel.RenameAsync(dir.NodeId, "f", Root, "g")).ThrowIfError();
        Assert.Equal(Errno.ENOENT, (await kernel.LookupAsync(dir.NodeId, "f")).Errno);
        Assert.Equal(Errno.EEXIST, (await kernel.RenameAsync(Root, "g", Root, "f-again", flags: 1)).Errno); // RENAME_NOREPLACE

        Assert.Equal(Errno.ENOTEMPTY, (await kernel.RmdirAsync(Root, "a")).Errno);
        (await kernel.RmdirAsync(dir.NodeId, "b")).ThrowIfError();
        (await kernel.UnlinkAsync(dir.NodeId, "to-b")).ThrowIfError();
        (await kernel.RmdirAsync(Root, "a")).ThrowIfError();
        Assert.Equal(Errno.ENOENT, (await kernel.LookupPathAsync("a/b")).Errno);
    }

    [Fact]
    public async Task SetAttr_truncates_changes_mode_and_times()
    {
        await using var kernel = await Start();
        var file = (await kernel.CreateAsync(Root, "f")).Value;
        await kernel.WriteAsync(file.Entry.NodeId, file.File.Handle, 0, new byte[100]);
        var when = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        var attr = (await kernel.SetAttrAsync(file.Entry.NodeId, new FuseSetAttributes { Size = 10, Mode = 0x8180, ModificationTime = when })).Value;
        Assert.Equal(10, attr.Size);
        Assert.Equal(0x180u, attr.Permissions);
        Assert.Equal(when, attr.ModificationTime);
    }

    [Fact]
    public async Task Xattrs_statfs_fsync_and_forget()
    {
        await using var kernel = await Start();
        var file = (await kernel.CreateAsync(Root, "f")).Value;
        ulong node = file.Entry.NodeId;
        (await kernel.SetXattrAsync(node, "user.colour", "blue"u8.ToArray())).ThrowIfError();
        Assert.Equal("blue"u8.ToArray(), (await kernel.GetXattrAsync(node, "user.colour")).Value);
        Assert.Equal(4, (await kernel.GetXattrSizeAsync(node, "user.colour")).Value);
        Assert.Equal(Errno.ERANGE, (await kernel.GetXattrAsync(node, "user.colour", size: 2)).Errno);
        Assert.Contains("user.colour", (await kernel.ListXattrAsync(node)).Value);
        (await kernel.RemoveXattrAsync(node, "user.colour")).ThrowIfError();
        Assert.Equal(Errno.ENODATA, (await kernel.GetXattrAsync(node, "user.colour")).Errno);

        Assert.True((await kernel.StatFsAsync()).Value.Blocks > 0);
        (await kernel.FsyncAsync(node, file.File.Handle, dataOnly: true)).ThrowIfError();
        (await kernel.ReleaseAsync(node, file.File.Handle)).ThrowIfError();

        (await kernel.UnlinkAsync(Root, "f")).ThrowIfError();
        await kernel.ForgetAsync(node, kernel.LookupCount(node));
        Assert.Equal(0ul, kernel.LookupCount(node));
        // With one worker the FORGET was served before this: memfs has freed the node.
        Assert.Equal(Errno.ENOENT, (await kernel.GetAttrAsync(node)).Errno);
    }

    [Fact]
    public async Task Another_uid_is_refused_by_the_file_systems_own_checks()
    {
        await using var kernel = await Start();
        var alice = kernel.As(FuseCaller.User(1000));
        var bob = kernel.As(FuseCaller.User(1001));
        var file = (await alice.CreateAsync(Root, "private", mode: 0x180)).Value; // 0600
        Assert.Equal(1000u, file.Entry.Attributes.Uid);
        (await alice.ReleaseAsync(file.Entry.NodeId, file.File.Handle)).ThrowIfError();

        Assert.Equal(Errno.EACCES, (await bob.OpenAsync(file.Entry.NodeId)).Errno);
        Assert.Equal(Errno.EACCES, (await bob.AccessAsync(file.Entry.NodeId, 4)).Errno);
        Assert.Equal(Errno.EPERM, (await bob.SetAttrAsync(file.Entry.NodeId, new FuseSetAttributes { Mode = 0x81FF })).Errno);
        Assert.True((await alice.OpenAsync(file.Entry.NodeId)).IsSuccess);
    }

    [Fact]
    public async Task Concurrent_calls_on_several_workers_each_get_their_own_reply()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new MemFileSystem(), new FuseTestKernelOptions { Threads = 3, Caller = FuseCaller.Root });
        var made = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => kernel.MkdirAsync(Root, $"d{i}")));
        var found = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => kernel.LookupAsync(Root, $"d{i}")));
        Assert.Equal(made.Select(r => r.Value.NodeId), found.Select(r => r.Value.NodeId));
        Assert.Equal(40, made.Select(r => r.Value.NodeId).Distinct().Count());
    }

    [Fact]
    public async Task A_write_larger_than_max_write_is_refused_before_it_is_sent()
    {
        await using var kernel = await Start();
        var file = (await kernel.CreateAsync(Root, "big")).Value;
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => kernel.WriteAsync(file.Entry.NodeId, file.File.Handle, 0, new byte[kernel.MaxWrite + 1]));
        Assert.Equal((int)kernel.MaxWrite, (await kernel.WriteAsync(file.Entry.NodeId, file.File.Handle, 0, new byte[kernel.MaxWrite])).Value);
    }

    [Fact]
    public async Task One_MiB_writes_and_reads_cross_the_socketpair_as_root()
    {
        if (DirectFuse.Interop.Libc.geteuid() != 0) return; // larger socket buffers need CAP_NET_ADMIN; the suite runs as root
        await using var kernel = await FuseTestKernel.StartAsync(new MemFileSystem(), new FuseTestKernelOptions { MaxWrite = 1 << 20, Caller = FuseCaller.Root });
        var file = (await kernel.CreateAsync(Root, "big")).Value;
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        Assert.Equal(data.Length, (await kernel.WriteAsync(file.Entry.NodeId, file.File.Handle, 0, data)).Value);
        Assert.Equal(data, (await kernel.ReadAsync(file.Entry.NodeId, file.File.Handle, 0, data.Length)).Value);
    }

    [Fact]
    public async Task Raw_requests_reach_the_engine()
    {
        await using var kernel = await Start();
        Assert.Equal(Errno.ENOSYS, (await kernel.SendRawAsync(9999, Root, new byte[16])).Errno);
        // LOOKUP by hand: the name, zero-terminated.
        var raw = await kernel.SendRawAsync(1, Root, "nothing\0"u8.ToArray());
        Assert.Equal(Errno.ENOENT, raw.Errno);
        Assert.Throws<ArgumentException>(() => { _ = kernel.SendRawAsync(2, Root, new byte[8]); });
    }
}
