using System.Text;
using DirectFuse.Examples.HelloPath;
using DirectFuse.Testing;

namespace DirectFuse.Tests.Testing;

/// <summary>The testing kit against a path-based file system (HelloPath), through the adapter a mount uses.</summary>
public sealed class KitPathTests
{
    [Fact]
    public async Task Lookup_read_and_list_a_path_file_system()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new HelloPathFileSystem());
        var hello = (await kernel.LookupAsync(FuseTestKernel.RootNodeId, "hello")).Value;
        Assert.True(hello.Attributes.IsRegularFile);
        Assert.Equal(14, hello.Attributes.Size);

        var file = (await kernel.OpenAsync(hello.NodeId)).Value;
        Assert.Equal("Hello, World!\n", Encoding.UTF8.GetString((await kernel.ReadAsync(hello.NodeId, file.Handle, 0, 4096)).Value));
        Assert.Equal("World!\n", Encoding.UTF8.GetString((await kernel.ReadAsync(hello.NodeId, file.Handle, 7, 4096)).Value));
        (await kernel.ReleaseAsync(hello.NodeId, file.Handle)).ThrowIfError();

        var names = (await kernel.ReadDirAsync(FuseTestKernel.RootNodeId)).Value.Select(e => e.Name).ToList();
        Assert.Contains("hello", names);
        Assert.Contains("dir", names);
        Assert.True((await kernel.LookupPathAsync("dir")).Value.Attributes.IsDirectory);
    }

    [Fact]
    public async Task Errnos_are_values_and_ThrowIfError_names_the_request()
    {
        await using var kernel = await FuseTestKernel.StartAsync(new HelloPathFileSystem());
        var missing = await kernel.LookupAsync(FuseTestKernel.RootNodeId, "missing");
        Assert.False(missing.IsSuccess);
        Assert.Equal(Errno.ENOENT, missing.Errno);
        var e = Assert.Throws<FuseErrnoException>(() => missing.Value);
        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Contains("LOOKUP \"missing\" in node 1", e.Message);
        Assert.Contains("ENOENT", e.Message);

        var hello = (await kernel.LookupPathAsync("/hello")).Value;
        Assert.Equal(Errno.EACCES, (await kernel.OpenAsync(hello.NodeId, flags: 2)).Errno); // O_RDWR on a read-only file
        Assert.Equal(Errno.ENOENT, (await kernel.ReadFileAsync("/dir/nothing")).Errno);
    }
}
