using System.Diagnostics;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.LowLevel;

/// <summary>
/// Linux's permission rules as <see cref="Permissions"/> states them. Callers have pid 0 (no /proc lookup)
/// unless a test is about supplementary groups, which come from a real process started with them.
/// </summary>
public sealed class PermissionsTests
{
    private const uint Alice = 1000, Bob = 1001, Staff = 50, Other = 60;
    private static FuseContext As(uint uid, uint gid, uint pid = 0) => new(1, uid, gid, pid);
    private static Ownership File(uint mode, uint uid = Alice, uint gid = Staff) => new(StatMode.Regular | mode, uid, gid);
    private static Ownership Dir(uint mode, uint uid = Alice, uint gid = Staff) => new(StatMode.Directory | mode, uid, gid);

    [Fact]
    public void The_owner_class_alone_decides_for_the_owner()
    {
        // Linux: an owner denied by the owner bits is denied, even when the group or others are allowed.
        Assert.False(Permissions.MayAccess(As(Alice, Staff), File(0x03F), AccessMode.Read)); // 0077
        Assert.True(Permissions.MayAccess(As(Bob, Staff), File(0x03F), AccessMode.Read));
        Assert.True(Permissions.MayAccess(As(Bob, Other), File(0x03F), AccessMode.Read | AccessMode.Write));
        Assert.False(Permissions.MayAccess(As(Bob, Staff), File(0x1A0), AccessMode.Write)); // 0640: group may only read
        Assert.True(Permissions.MayAccess(As(Bob, Other), File(0x1A0), AccessMode.Exists));
    }

    [Fact]
    public void Root_may_do_anything_but_execute_a_file_without_execute_bits()
    {
        Assert.True(Permissions.MayAccess(As(0, 0), File(0, Bob), AccessMode.Read | AccessMode.Write));
        Assert.False(Permissions.MayAccess(As(0, 0), File(0x1B6, Bob), AccessMode.Execute)); // 0666
        Assert.True(Permissions.MayAccess(As(0, 0), File(0x1, Bob), AccessMode.Execute));
        Assert.True(Permissions.MayAccess(As(0, 0), Dir(0, Bob), AccessMode.Execute));
    }

    [Fact]
    public void Open_flags_ask_for_read_write_and_truncation()
    {
        Assert.Equal(AccessMode.Read, Permissions.ForOpen(0));
        Assert.Equal(AccessMode.Write, Permissions.ForOpen(1));
        Assert.Equal(AccessMode.Read | AccessMode.Write, Permissions.ForOpen(2));
        Assert.Equal(AccessMode.Read | AccessMode.Write, Permissions.ForOpen(0x200)); // O_RDONLY | O_TRUNC
    }

    [Fact]
    public void A_sticky_directory_keeps_others_from_removing_entries()
    {
        var tmp = Dir(0x3FF, 0, 0); // 1777 root
        Assert.Equal(Errno.EPERM, Permissions.CheckRemove(As(Bob, Other), tmp, File(0x1B6, Alice)));
        Assert.Equal(Errno.Ok, Permissions.CheckRemove(As(Alice, Other), tmp, File(0x1A4, Alice)));
        Assert.Equal(Errno.Ok, Permissions.CheckRemove(As(0, 0), tmp, File(0x1A4, Alice)));
        Assert.Equal(Errno.Ok, Permissions.CheckRemove(As(Bob, Other), Dir(0x3FF, Bob), File(0x1A4, Alice))); // the directory's owner
        Assert.Equal(Errno.EACCES, Permissions.CheckRemove(As(Bob, Other), Dir(0x1ED, Alice), File(0x1B6, Bob))); // 0755: no write
    }

    [Fact]
    public void Chown_and_chgrp_follow_chown_ok_and_chgrp_ok()
    {
        var file = File(0x1A4);
        static SetAttrRequest Chown(uint? uid, uint? gid)
        {
            var r = new SetAttrRequest();
            if (uid is { } u) { r.Valid |= SetAttrFields.Uid; r.Uid = u; }
            if (gid is { } g) { r.Valid |= SetAttrFields.Gid; r.Gid = g; }
            return r;
        }
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), file, Chown(Alice, null))); // a non-owner may not even "keep" the owner
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), file, Chown(null, Staff)));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Alice, Other), file, Chown(Alice, Staff)));
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Alice, Staff), file, Chown(Bob, null)));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Alice, Other), file, Chown(null, Other)));
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Alice, Staff), file, Chown(null, Other)));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(0, 0), file, Chown(Bob, Other)));
    }

    [Fact]
    public void Times_need_the_owner_unless_both_are_set_to_now_by_a_writer()
    {
        var shared = File(0x1B6); // 0666
        var touch = new SetAttrRequest { Valid = SetAttrFields.Atime | SetAttrFields.AtimeNow | SetAttrFields.Mtime | SetAttrFields.MtimeNow };
        var onlyAtimeNow = new SetAttrRequest { Valid = SetAttrFields.Atime | SetAttrFields.AtimeNow };
        var explicitTimes = new SetAttrRequest { Valid = SetAttrFields.Atime | SetAttrFields.Mtime };
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Bob, Other), shared, touch));
        Assert.Equal(Errno.EACCES, Permissions.CheckSetAttr(As(Bob, Other), File(0x1A4), touch));
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), shared, onlyAtimeNow));
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), shared, explicitTimes));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Alice, Other), File(0), explicitTimes));
    }

    [Fact]
    public void A_writer_may_only_drop_set_id_bits_as_kernels_before_5_11_ask_in_its_name()
    {
        static SetAttrRequest Chmod(uint mode) => new() { Valid = SetAttrFields.Mode, Mode = mode };
        var writable = File(StatMode.SetUid | StatMode.SetGid | 0x1FF); // 06777 alice:staff
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Bob, Other), writable, Chmod(StatMode.SetGid | 0x1FF)));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Bob, Other), writable, Chmod(0x1FF)));
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), writable, Chmod(StatMode.SetUid | StatMode.SetGid | 0x1FF))); // no change is no drop
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), writable, Chmod(0x1FD))); // other bits stay the owner's
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), writable, Chmod(StatMode.Sticky | 0x1FF)));
        var readOnly = File(StatMode.SetUid | 0x1ED); // 04755: Bob may not write it
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), readOnly, Chmod(0x1ED)));
        Assert.Equal(Errno.EPERM, Permissions.CheckSetAttr(As(Bob, Other), Dir(StatMode.SetGid | 0x1FF), Chmod(0x1FF)));
    }

    [Fact]
    public void Truncate_by_path_needs_write_permission_but_ftruncate_was_checked_at_open()
    {
        var byPath = new SetAttrRequest { Valid = SetAttrFields.Size };
        var byHandle = new SetAttrRequest { Valid = SetAttrFields.Size | SetAttrFields.Fh, Handle = new FileHandle(1) };
        Assert.Equal(Errno.EACCES, Permissions.CheckSetAttr(As(Bob, Other), File(0x1A4), byPath));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Bob, Other), File(0x1B6), byPath));
        Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(As(Bob, Other), File(0x1A4), byHandle));
    }

    [Fact]
    public void Set_id_bits_are_dropped_as_Linux_drops_them()
    {
        var suid = File(StatMode.SetUid | StatMode.SetGid | 0x1ED); // 06755 alice:staff
        Assert.Equal(StatMode.Regular | 0x1ED, Permissions.ModeAfterWrite(As(Bob, Staff), suid, WriteFlags.KillSuidGid));
        Assert.Equal(suid.Mode, Permissions.ModeAfterWrite(As(Bob, Staff), suid, WriteFlags.None));
        // Set-group-ID without group execute means mandatory locking: it stays for members of the group, and
        // goes for a writer outside it.
        var locking = File(StatMode.SetUid | StatMode.SetGid | 0x1A4);
        Assert.Equal(StatMode.Regular | StatMode.SetGid | 0x1A4, Permissions.ModeAfterWrite(As(Bob, Staff), locking, WriteFlags.KillSuidGid));
        Assert.Equal(StatMode.Regular | 0x1A4, Permissions.ModeAfterWrite(As(Bob, Other), locking, WriteFlags.KillSuidGid));
        var chmod = new SetAttrRequest { Valid = SetAttrFields.Mode, Mode = StatMode.SetGid | 0x1ED };
        // chmod g+s by an owner outside the file's group silently loses the bit, directories included.
        Assert.Equal(StatMode.Regular | 0x1ED, Permissions.ModeAfterSetAttr(As(Alice, Other), File(0x1ED), chmod));
        Assert.Equal(StatMode.Directory | 0x1ED, Permissions.ModeAfterSetAttr(As(Alice, Other), Dir(0x1ED), chmod));
        Assert.Equal(StatMode.Regular | StatMode.SetGid | 0x1ED, Permissions.ModeAfterSetAttr(As(Alice, Staff), File(0x1ED), chmod));
        var chownKill = new SetAttrRequest { Valid = SetAttrFields.Uid | SetAttrFields.KillSuidGid, Uid = Bob };
        Assert.Equal(StatMode.Regular | 0x1ED, Permissions.ModeAfterSetAttr(As(0, 0), File(0xDED), chownKill));
        Assert.Equal(StatMode.Regular | 0x1ED, Permissions.ModeAfterTruncatingOpen(new FuseContext(1, Bob, Other, 0, 0, 0, FuseContext.NoGroup, killSuidSgid: true), suid));
        Assert.Equal(suid.Mode, Permissions.ModeAfterTruncatingOpen(As(Bob, Other), suid));
    }

    [Fact]
    public void Hard_links_to_others_files_need_a_safe_source()
    {
        Assert.Equal(Errno.Ok, Permissions.CheckHardLink(As(Bob, Other), File(0x1B6)));                     // 0666
        Assert.Equal(Errno.EPERM, Permissions.CheckHardLink(As(Bob, Other), File(0x1A4)));                  // cannot write it
        Assert.Equal(Errno.EPERM, Permissions.CheckHardLink(As(Bob, Other), File(StatMode.SetUid | 0x1FF)));
        Assert.Equal(Errno.Ok, Permissions.CheckHardLink(As(Alice, Other), File(0)));                       // the owner may
    }

    [Fact]
    public void New_nodes_in_a_set_group_id_directory_take_its_group()
    {
        var shared = Dir(StatMode.SetGid | 0x1FF, 0, Staff);
        Assert.Equal(new Ownership(StatMode.Directory | StatMode.SetGid | 0x1ED, Bob, Staff), Permissions.ForNewNode(As(Bob, Other), shared, StatMode.Directory | 0x1ED));
        // A group-executable set-group-ID file made by a non-member loses the bit.
        Assert.Equal(new Ownership(StatMode.Regular | 0x1ED, Bob, Staff), Permissions.ForNewNode(As(Bob, Other), shared, StatMode.Regular | StatMode.SetGid | 0x1ED));
        Assert.Equal(new Ownership(StatMode.Regular | 0x1A4, Bob, Other), Permissions.ForNewNode(As(Bob, Other), Dir(0x1FF), StatMode.Regular | 0x1A4));
        // The kernel vouches for membership of the parent's group with FUSE_EXT_GROUPS: no /proc needed.
        var member = new FuseContext(1, Bob, Other, 0, 0, 0, extensionGroup: Staff, killSuidSgid: false);
        Assert.Equal(StatMode.Regular | StatMode.SetGid | 0x1ED, Permissions.ForNewNode(member, shared, StatMode.Regular | StatMode.SetGid | 0x1ED).Mode);
    }

    [Fact]
    public void Supplementary_groups_come_from_the_calling_process()
    {
        // A real process holding supplementary group 4242: its pid stands for the calling thread of a request.
        var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--groups=4242,4343", "sleep", "30"]) { UseShellExecute = false };
        using var p = Process.Start(psi)!;
        try
        {
            Assert.True(SpinWait.SpinUntil(() => System.IO.File.ReadAllText($"/proc/{p.Id}/status").Contains("\nGroups:\t4242 4343"), Patience.Milliseconds(5000)));
            var caller = As(65534, 65534, (uint)p.Id);
            Assert.True(caller.IsInGroup(4242));
            Assert.True(caller.IsInGroup(4343));
            Assert.False(caller.IsInGroup(0));
            Assert.True(Permissions.MayAccess(caller, File(0x1A0, Alice, 4343), AccessMode.Read));   // 0640, group 4343
            Assert.False(Permissions.MayAccess(caller, File(0x1A0, Alice, Staff), AccessMode.Read));
            var chgrp = new SetAttrRequest { Valid = SetAttrFields.Gid, Gid = 4242 };
            Assert.Equal(Errno.Ok, Permissions.CheckSetAttr(caller, File(0x1A4, 65534, 65534), chgrp));
        }
        finally
        {
            p.Kill();
            p.WaitForExit();
        }
        // Gone: no groups at all, so nothing is granted by a recycled pid's groups.
        Assert.False(As(65534, 65534, (uint)p.Id).IsInGroup(4242));
    }

    [Theory]
    [InlineData("Name:\tx\nGroups:\t4 24 27 \nNSpid:\t1\n", 27u, true)]
    [InlineData("Name:\tx\nGroups:\t4 24 27 \nNSpid:\t1\n", 2u, false)]
    [InlineData("Name:\tx\nGroups:\t \nNSpid:\t1\n", 0u, false)]
    [InlineData("Name:\tx\nGroups:\t4 24 27", 27u, false)] // cut short: a partial line proves nothing
    [InlineData("Name:\tx\nGroups:\t99999999999 5\n", 5u, false)] // not a gid: stop
    public void The_groups_line_is_parsed_strictly(string status, uint gid, bool member) =>
        Assert.Equal(member, CallerGroups.ListContains(System.Text.Encoding.ASCII.GetBytes(status), gid));
}
