using DirectFuse.Examples.MemFs;
using DirectFuse.Interop;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Transport;

/// <summary>The <c>-o</c> options the library itself turns into mount(2) flags, its data string or fusermount3's list.</summary>
public sealed class MountOptionsTests
{
    [Fact]
    public void Split_keeps_escaped_commas_and_drops_empty_items()
    {
        var items = MountOptions.Split(@"fsname=a\,b,,ro, noexec ,x\\");
        Assert.Equal([@"fsname=a\,b", "ro", "noexec", @"x\\"], items);
        Assert.Equal("fsname=a,b", MountOptions.Unescape(items[0]));
        Assert.Equal(@"x\", MountOptions.Unescape(items[3]));
        Assert.Equal(@"a\,b\\c", MountOptions.Escape(@"a,b\c"));
        Assert.Equal("a,b", MountOptions.Parse([@"fsname=a\,b"]).FsName);
    }

    [Fact]
    public void Every_generic_mount_flag_maps_to_its_mount2_flag()
    {
        var o = MountOptions.Parse(["ro,noexec,noatime,nodiratime,relatime,strictatime,lazytime,sync,dirsync,suid,dev"]);
        Assert.Equal(Libc.MS_RDONLY | Libc.MS_NOEXEC | Libc.MS_NOATIME | Libc.MS_NODIRATIME | Libc.MS_RELATIME
            | Libc.MS_STRICTATIME | Libc.MS_LAZYTIME | Libc.MS_SYNCHRONOUS | Libc.MS_DIRSYNC, o.MountFlags);
        // The opposites undo them; nosuid and nodev are the defaults, as in libfuse.
        var undone = MountOptions.Parse(["ro,noexec,noatime,nodiratime,relatime,strictatime,lazytime,sync", "rw,exec,atime,diratime,norelatime,nostrictatime,nolazytime,async"]);
        Assert.Equal(Libc.MS_NOSUID | Libc.MS_NODEV, undone.MountFlags);
    }

    [Fact]
    public void Allow_root_asks_the_kernel_for_allow_other_and_excludes_allow_other()
    {
        var o = MountOptions.Parse(["allow_root"]);
        Assert.True(o.AllowRoot);
        Assert.False(o.AllowOther);
        Assert.Contains("allow_other", o.ToKernelData(5, 0x4000, 0, 0).Split(','));
        Assert.Contains("allow_other", o.ToFusermountOptions(1000).Split(','));
        var e = Assert.Throws<ArgumentException>(() => MountOptions.Parse(["allow_other,allow_root"]));
        Assert.Equal("mount options 'allow_other' and 'allow_root' are mutually exclusive", e.Message);
    }

    [Theory]
    [InlineData("blksize=4096", "only valid for fuseblk mounts")]
    [InlineData("blkdev", "serves no block devices")]
    [InlineData("fd=3", "set by directfuse itself")]
    [InlineData("rootmode=40000", "set by directfuse itself")]
    [InlineData("user_id=0", "set by directfuse itself")]
    [InlineData("group_id=0", "set by directfuse itself")]
    [InlineData("bogus", "unknown or malformed mount option 'bogus'")]
    [InlineData("max_read=lots", "unknown or malformed mount option 'max_read=lots'")]
    [InlineData("ro=1", "unknown or malformed mount option 'ro=1'")]
    [InlineData("fsname=", "unknown or malformed mount option 'fsname='")]
    public void Options_that_cannot_apply_are_refused_with_the_reason(string option, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => MountOptions.Parse([option]));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Max_read_zero_means_no_limit_as_in_libfuse()
    {
        Assert.Null(MountOptions.Parse(["max_read=0"]).MaxRead);
        Assert.Equal(65536u, MountOptions.Parse(["max_read=65536"]).MaxRead);
    }

    [Fact]
    public void Security_contexts_go_to_the_kernel_as_given()
    {
        var o = MountOptions.Parse(["context=system_u:object_r:tmp_t:s0,rootcontext=x"]);
        var data = o.ToKernelData(5, 0x4000, 0, 0).Split(',');
        Assert.Contains("context=system_u:object_r:tmp_t:s0", data);
        Assert.Contains("rootcontext=x", data);
        Assert.True(o.HasSecurityContext);
    }

    [Fact]
    public void Fusermount_gets_suid_and_dev_only_from_root_and_an_escaped_fsname()
    {
        var o = MountOptions.Parse(["suid,dev,fsname=loopback:/srv/a\\,b"]);
        var asUser = o.ToFusermountOptions(1000).Split(',');
        Assert.DoesNotContain("suid", asUser);
        Assert.DoesNotContain("dev", asUser);
        Assert.Contains("suid", o.ToFusermountOptions(0).Split(','));
        Assert.StartsWith(@"fsname=loopback:/srv/a\,b,", o.ToFusermountOptions(0));
    }

    [Fact]
    public void The_kernel_applies_the_flags_to_a_real_mount()
    {
        var options = new FuseSessionOptions { Mount = MountOptions.Parse(["sync,dirsync,nodiratime,lazytime,noexec"], new MountOptions { Subtype = "test" }) };
        using var mount = TempMount.Create(new MemFileSystem(), options);
        string line = File.ReadAllLines("/proc/self/mountinfo").Single(l => l.Split(' ')[4] == mount.Path);
        // mountinfo: per-mount flags in field 6, superblock flags after the file system type and source.
        var perMount = line.Split(' ')[5].Split(',');
        var super = line.Split(" - ")[1].Split(' ')[2].Split(',');
        Assert.Contains("noexec", perMount);
        Assert.Contains("nodiratime", perMount);
        Assert.Contains("sync", super);
        Assert.Contains("dirsync", super);
        Assert.Contains("lazytime", super);
        File.WriteAllText(mount["f"], "synchronous");
        Assert.Equal("synchronous", File.ReadAllText(mount["f"]));
    }
}
