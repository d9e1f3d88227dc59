namespace DirectFuse.Tests.Security;

/// <summary>
/// The operations a hostile user tries on the <see cref="HostileScenario"/> tree, as one python3 script that
/// prints one line per operation: "name: OK", "name: OK value" or "name: ERRNONAME", followed by " -> " and the
/// state of the affected entry (as the caller sees it) where the effect matters (set-id bits, owners, sizes).
/// The same script runs as root, as nobody with a supplementary group and as nobody without one; the expected
/// answer is whatever tmpfs gives that caller.
/// </summary>
/// <remarks>argv[1]: the root of the tree; argv[2]: comma-separated names of operations to leave out.</remarks>
public static class AttackerBattery
{
    /// <summary>Operation names that use hard links, symlinks, device nodes/fifos or extended attributes.</summary>
    public static readonly IReadOnlyList<string> LinksNodesAndXattrs =
    [
        "link_others_file", "link_own_file", "symlink_in_ro_dir", "symlink_in_sticky", "mkfifo_in_open_dir",
        "mkfifo_in_ro_dir", "setxattr_user_writable", "setxattr_user_readonly", "getxattr_user_unreadable",
        "setxattr_trusted",
    ];

    /// <summary>Operation names that use user.* extended attributes (which tmpfs has only from Linux 6.6).</summary>
    public static readonly IReadOnlyList<string> UserXattrs =
        ["setxattr_user_writable", "setxattr_user_readonly", "getxattr_user_unreadable"];

    public const string Script = """
        import ctypes, errno, os, stat, sys
        R = sys.argv[1]
        skip = set(filter(None, sys.argv[2].split(','))) if len(sys.argv) > 2 else set()
        os.umask(0o022)
        SUPP, NOTHELD, FIXED = 4242, 4343, 1234567890
        ME_U, ME_G = os.getuid(), os.getgid()
        libc = ctypes.CDLL(None, use_errno=True)
        ran = set()

        def P(*a): return os.path.join(R, *a)

        def state(rel):
            try:
                s = os.lstat(P(rel))
            except OSError as e:
                return errno.errorcode[e.errno]
            t = f'mode={s.st_mode:o} uid={s.st_uid} gid={s.st_gid}'
            if not stat.S_ISDIR(s.st_mode): t += f' size={s.st_size}'
            if int(s.st_mtime) == FIXED: t += ' mtime=fixed'
            return t

        def op(name, fn, show=None):
            assert name not in ran, name
            ran.add(name)
            if name in skip: return
            try:
                r = fn()
                out = 'OK' if r is None else f'OK {r}'
            except OSError as e:
                out = errno.errorcode.get(e.errno, str(e.errno))
            if show: out += ' -> ' + state(show)
            print(f'{name}: {out}', flush=True)

        def read(rel):
            with open(P(rel), 'rb') as fh: return len(fh.read(4096))

        def write(rel, extra=0):
            fd = os.open(P(rel), os.O_WRONLY | extra)
            try: os.pwrite(fd, b'XXXX', 0)   # inside the file: shmfs seals sizes of files it maps directly
            finally: os.close(fd)

        def open_trunc(rel): os.close(os.open(P(rel), os.O_WRONLY | os.O_TRUNC))

        def create(rel, mode=0o644): os.close(os.open(P(rel), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))

        def access(rel, mode):
            if libc.access(P(rel).encode(), mode) != 0:
                e = ctypes.get_errno(); raise OSError(e, os.strerror(e))

        # Reading and writing other users' files.
        op('read_secret', lambda: read('secret'))
        op('write_secret', lambda: write('secret'), 'secret')
        op('read_public', lambda: read('public'))
        op('write_public', lambda: write('public'), 'public')
        op('write_everyone', lambda: write('everyone'), 'everyone')
        op('otrunc_big', lambda: open_trunc('big'), 'big')
        op('truncate_big', lambda: os.truncate(P('big'), 0), 'big')
        op('otrunc_everyone', lambda: open_trunc('everyone_otrunc'), 'everyone_otrunc')
        op('truncate_everyone', lambda: os.truncate(P('everyone_truncate'), 10), 'everyone_truncate')
        # Access through the supplementary group; the group class decides even when "others" would allow.
        op('read_groupread', lambda: read('groupread'))
        op('write_groupfile', lambda: write('groupfile'), 'groupfile')
        op('read_group_excluded', lambda: read('group_excluded'))
        op('access_groupfile_r', lambda: access('groupfile', os.R_OK))
        op('access_groupfile_w', lambda: access('groupfile', os.W_OK))
        op('access_groupfile_x', lambda: access('groupfile', os.X_OK))
        op('access_groupread_r', lambda: access('groupread', os.R_OK))
        op('access_group_excluded_r', lambda: access('group_excluded', os.R_OK))
        op('access_secret_r', lambda: access('secret', os.R_OK))
        op('access_suid_ro_x', lambda: access('suid_ro', os.X_OK))
        op('access_group_dir_wx', lambda: access('group_dir', os.W_OK | os.X_OK))
        # Set-id files: a write or truncate by a caller without CAP_FSETID clears set-uid, and set-gid when
        # group-execute is set; the operation itself succeeds.
        op('write_suid', lambda: write('suid_w'), 'suid_w')
        op('write_sgid_groupexec', lambda: write('sgid_groupexec_w'), 'sgid_groupexec_w')
        op('write_sgid_no_groupexec', lambda: write('sgid_no_groupexec_w'), 'sgid_no_groupexec_w')
        op('truncate_suid', lambda: os.truncate(P('suid_truncate'), 8), 'suid_truncate')
        op('otrunc_setid', lambda: open_trunc('setid_otrunc'), 'setid_otrunc')
        op('write_suid_readonly', lambda: write('suid_ro'), 'suid_ro')
        # chmod and chown of other users' files.
        op('chmod_others_file', lambda: os.chmod(P('public'), 0o666), 'public')
        op('chmod_others_setid_file', lambda: os.chmod(P('suid_ro'), 0o755), 'suid_ro')
        op('chmod_others_dir', lambda: os.chmod(P('sticky'), 0o777), 'sticky')
        op('chown_others_to_me', lambda: os.chown(P('secret'), ME_U, -1), 'secret')
        op('chgrp_others_to_my_group', lambda: os.chown(P('sgid_ro'), -1, ME_G), 'sgid_ro')
        op('chown_others_to_current_owner', lambda: os.chown(P('public'), 0, 0), 'public')
        op('chown_others_noop', lambda: os.chown(P('everyone'), -1, -1), 'everyone')
        # The caller's own files.
        op('chmod_mine', lambda: os.chmod(P('mine'), 0o640), 'mine')
        op('chgrp_mine_primary', lambda: os.chown(P('mine'), -1, ME_G), 'mine')
        op('chgrp_mine_supplementary', lambda: os.chown(P('mine'), -1, SUPP), 'mine')
        op('chgrp_mine_not_held', lambda: os.chown(P('mine'), -1, NOTHELD), 'mine')
        op('chown_mine_to_root', lambda: os.chown(P('mine'), 0, -1), 'mine')
        op('chown_mine_to_myself', lambda: os.chown(P('mine'), ME_U, -1), 'mine')
        op('chmod_mine_setgid_foreign_group', lambda: os.chmod(P('mine_foreign_group'), 0o2755), 'mine_foreign_group')
        op('chgrp_mine_suid', lambda: os.chown(P('mine_suid'), -1, ME_G), 'mine_suid')
        op('chown_mine_suid_to_myself', lambda: os.chown(P('mine_suid_chown'), ME_U, ME_G), 'mine_suid_chown')
        # Times: "now" needs write access; explicit times need ownership.
        op('utime_now_writable', lambda: os.utime(P('everyone')))
        op('utime_explicit_writable', lambda: os.utime(P('everyone'), (FIXED, FIXED)), 'everyone')
        op('utime_now_readonly', lambda: os.utime(P('public')))
        op('utime_explicit_readonly', lambda: os.utime(P('public'), (FIXED, FIXED)), 'public')
        op('utime_explicit_mine', lambda: os.utime(P('mine'), (FIXED, FIXED)), 'mine')
        # Directories without write or search permission.
        op('create_in_ro_dir', lambda: create('ro_dir/new'), 'ro_dir/new')
        op('mkdir_in_ro_dir', lambda: os.mkdir(P('ro_dir/newdir')), 'ro_dir/newdir')
        op('unlink_in_ro_dir', lambda: os.unlink(P('ro_dir/f')), 'ro_dir/f')
        op('rename_in_ro_dir', lambda: os.rename(P('ro_dir/f'), P('ro_dir/g')), 'ro_dir/f')
        op('write_file_in_ro_dir', lambda: write('ro_dir/f'), 'ro_dir/f')
        op('stat_in_private_dir', lambda: os.stat(P('private_dir/f')) and None)
        op('list_private_dir', lambda: len(os.listdir(P('private_dir'))))
        op('create_in_group_dir', lambda: create('group_dir/new'))
        op('list_group_dir', lambda: len(os.listdir(P('group_dir'))))
        # A set-gid directory: new entries take its group; new directories keep the bit; a set-gid file
        # created by a caller outside that group loses the bit.
        op('create_in_sgid_dir', lambda: create('sgid_dir/file'), 'sgid_dir/file')
        op('create_setgid_file_in_sgid_dir', lambda: create('sgid_dir/sgfile', 0o2755), 'sgid_dir/sgfile')
        op('mkdir_in_sgid_dir', lambda: os.mkdir(P('sgid_dir/sub'), 0o755), 'sgid_dir/sub')
        op('create_in_sgid_subdir', lambda: create('sgid_dir/sub/file'), 'sgid_dir/sub/file')
        # The sticky bit: only the owner of the entry or of the directory may remove or rename it.
        op('unlink_others_in_sticky', lambda: os.unlink(P('sticky/root_file')), 'sticky/root_file')
        op('rename_others_in_sticky', lambda: os.rename(P('sticky/root_file'), P('sticky/taken')), 'sticky/root_file')
        op('rename_others_out_of_sticky', lambda: os.rename(P('sticky/root_file'), P('open_dir/taken')), 'sticky/root_file')
        op('rename_own_over_others_in_sticky', lambda: os.rename(P('sticky/own_file2'), P('sticky/root_file')), 'sticky/root_file')
        op('rmdir_others_in_sticky', lambda: os.rmdir(P('sticky/root_dir')), 'sticky/root_dir')
        op('write_others_in_sticky', lambda: write('sticky/root_file'), 'sticky/root_file')
        op('rename_own_in_sticky', lambda: os.rename(P('sticky/own_file'), P('sticky/own_renamed')), 'sticky/own_renamed')
        op('unlink_own_in_sticky', lambda: os.unlink(P('sticky/own_renamed')), 'sticky/own_renamed')
        op('create_in_sticky', lambda: create('sticky/new_by_me'), 'sticky/new_by_me')
        op('unlink_others_in_open_dir', lambda: os.unlink(P('open_dir/root_file')), 'open_dir/root_file')
        op('unlink_others_in_my_dir', lambda: os.unlink(P('nobody_dir/root_file')), 'nobody_dir/root_file')
        # Links, nodes and extended attributes (not in every file system; see LinksNodesAndXattrs).
        op('link_others_file', lambda: os.link(P('secret'), P('open_dir/secret_link')), 'open_dir/secret_link')
        op('link_own_file', lambda: os.link(P('mine'), P('open_dir/mine_link')), 'open_dir/mine_link')
        op('symlink_in_ro_dir', lambda: os.symlink('secret', P('ro_dir/sym')), 'ro_dir/sym')
        op('symlink_in_sticky', lambda: os.symlink('/etc/passwd', P('sticky/sym')), 'sticky/sym')
        op('mkfifo_in_open_dir', lambda: os.mkfifo(P('open_dir/fifo'), 0o666), 'open_dir/fifo')
        op('mkfifo_in_ro_dir', lambda: os.mkfifo(P('ro_dir/fifo'), 0o666), 'ro_dir/fifo')
        op('setxattr_user_writable', lambda: os.setxattr(P('everyone_otrunc'), 'user.note', b'1'))
        op('setxattr_user_readonly', lambda: os.setxattr(P('public'), 'user.note', b'1'))
        op('getxattr_user_unreadable', lambda: os.getxattr(P('secret'), 'user.note'))
        op('setxattr_trusted', lambda: os.setxattr(P('everyone_otrunc'), 'trusted.note', b'1'))
        unknown = skip - ran
        if unknown: sys.exit(f'unknown operations to skip: {sorted(unknown)}')
        """;
}
