using System.Text;
using DirectFuse;
using DirectFuse.Testing;

namespace NotesSample;

/// <summary>
/// Unit tests of <see cref="NotesFileSystem"/> through DirectFuse.Testing: each request goes through the real
/// engine as the kernel would send it, with no mount, so these run anywhere, as any user.
/// </summary>
public sealed class NotesFileSystemTests
{
    private const ulong Root = FuseTestKernel.RootNodeId;
    private static readonly FuseCaller Alice = FuseCaller.User(1000);
    private static readonly FuseCaller Bob = FuseCaller.User(1001);

    [Fact]
    public async Task A_missing_note_is_ENOENT()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new NotesFileSystem());
        var reply = await kernel.LookupAsync(Root, "nothing");
        Assert.Equal(Errno.ENOENT, reply.Errno);
    }

    [Fact]
    public async Task A_created_note_reads_back()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new NotesFileSystem(), new FuseTestKernelOptions { Caller = Alice });

        var created = (await kernel.CreateAsync(Root, "todo.txt", mode: 0x1A4)).Value; // 0644
        ulong node = created.Entry.NodeId;
        Assert.Equal(12, (await kernel.WriteAsync(node, created.File.Handle, 0, "buy milk\nfix"u8.ToArray())).Value);
        (await kernel.ReleaseAsync(node, created.File.Handle)).ThrowIfError();

        var attr = (await kernel.GetAttrAsync(node)).Value;
        Assert.Equal(12, attr.Size);
        Assert.Equal(Alice.Uid, attr.Uid);
        Assert.Equal("buy milk\nfix", Encoding.UTF8.GetString((await kernel.ReadFileAsync("todo.txt")).Value));
    }

    [Fact]
    public async Task The_listing_shows_each_note()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new NotesFileSystem());
        foreach (var name in new[] { "a", "b" })
        {
            var file = (await kernel.CreateAsync(Root, name)).Value;
            (await kernel.ReleaseAsync(file.Entry.NodeId, file.File.Handle)).ThrowIfError();
        }

        var listing = (await kernel.ReadDirAsync(Root)).Value;
        Assert.Equal(["a", "b"], listing.Select(e => e.Name).Where(n => n is not ("." or "..")).Order());
        Assert.All(listing.Where(e => e.Name is "a" or "b"), e => Assert.Equal(FuseFileType.RegularFile, e.Type));
    }

    [Fact]
    public async Task Another_user_cannot_open_a_private_note()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new NotesFileSystem());
        var alice = kernel.As(Alice);
        var bob = kernel.As(Bob);

        var diary = (await alice.CreateAsync(Root, "diary", mode: 0x180)).Value; // 0600
        (await alice.ReleaseAsync(diary.Entry.NodeId, diary.File.Handle)).ThrowIfError();

        Assert.Equal(Errno.EACCES, (await bob.OpenAsync(diary.Entry.NodeId)).Errno);
        Assert.True((await alice.OpenAsync(diary.Entry.NodeId)).IsSuccess);
    }

    [Fact]
    public async Task A_removed_note_is_gone()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new NotesFileSystem());
        var file = (await kernel.CreateAsync(Root, "old")).Value;
        (await kernel.ReleaseAsync(file.Entry.NodeId, file.File.Handle)).ThrowIfError();

        (await kernel.UnlinkAsync(Root, "old")).ThrowIfError();

        Assert.Equal(Errno.ENOENT, (await kernel.LookupAsync(Root, "old")).Errno);
        Assert.Equal(Errno.ENOENT, (await kernel.UnlinkAsync(Root, "old")).Errno);
    }
}
