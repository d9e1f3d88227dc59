using DirectFuse.Examples.MemFs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Session;

/// <summary>
/// allow_root: the kernel lets every user through (allow_other), the session answers EACCES to all but the
/// mount's owner and root.
/// </summary>
public sealed class AllowRootTests
{
    [Fact]
    public void Allow_root_keeps_other_users_out_where_allow_other_lets_them_in()
    {
        using (var open = TempMount.Create(new MemFileSystem(), new FuseSessionOptions { Mount = new MountOptions { Subtype = "test", AllowOther = true } }))
            Run.AsNobody("ls", open.Path).EnsureSuccess("ls as nobody with allow_other");

        using var mount = TempMount.Create(new MemFileSystem(), new FuseSessionOptions { Mount = new MountOptions { Subtype = "test", AllowRoot = true } });
        File.WriteAllText(mount["f"], "root's");
        // The kernel was told allow_other: the refusal comes from the server.
        Assert.Contains("allow_other", File.ReadAllLines("/proc/mounts").Single(l => l.Split(' ')[1] == mount.Path));
        var ls = Run.AsNobody("ls", mount.Path);
        Assert.NotEqual(0, ls.ExitCode);
        Assert.Contains("Permission denied", ls.StdErr);
        var cat = Run.AsNobody("cat", mount["f"]);
        Assert.Contains("Permission denied", cat.StdErr);
        Assert.Equal("root's", File.ReadAllText(mount["f"]));
    }
}
