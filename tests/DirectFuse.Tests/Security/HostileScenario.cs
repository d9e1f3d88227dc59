namespace DirectFuse.Tests.Security;

/// <summary>
/// The tree the attacker battery runs against, built as root the same way on tmpfs and on the FUSE mount, and
/// the root-side snapshot of the tree after the battery (so damage the attacker's own output would not show,
/// e.g. a file it "could not" truncate that is shorter afterwards, is compared too).
/// </summary>
/// <remarks>
/// Owners: root (0), the attacker (65534, primary group 65534) and another user (<see cref="OtherUid"/>).
/// Groups: <see cref="SupplementaryGid"/> is held by the attacker as a supplementary group in the
/// "with supplementary group" variants; <see cref="NotHeldGid"/> never is. Every regular file is written in
/// full by the open that creates it (shmfs sizes a file only while its creating open is held), then chowned,
/// then chmodded (chown clears set-id bits). Files that a mutating operation uses are not shared with another
/// operation, so every line of the battery depends only on the tree and the operation itself.
/// </remarks>
public static class HostileScenario
{
    public const uint OtherUid = 1000;
    public const uint Nobody = 65534;
    public const uint SupplementaryGid = 4242;
    public const uint NotHeldGid = 4343;

    /// <summary>Mode of the mount's root directory (shmfs' root is always root:root 01777; memfs and tmpfs are given it).</summary>
    public const uint RootMode = 0x3FF; // 01777

    /// <summary>argv[1]: the root of the tree.</summary>
    public const string SetupScript = """
        import os, sys
        R = sys.argv[1]
        OTHER, NOBODY, SUPP = 1000, 65534, 4242
        os.umask(0)

        def f(name, mode, uid=0, gid=0, size=64):
            p = os.path.join(R, name)
            data = (name.encode() + b'|') * (size // (len(name) + 1) + 1)
            with open(p, 'wb') as fh:
                fh.write(data[:size])   # one creating open sizes the file (shmfs)
            os.chown(p, uid, gid)
            os.chmod(p, mode)           # after chown, which clears set-id bits

        def d(name, mode, uid=0, gid=0):
            p = os.path.join(R, name)
            os.mkdir(p)
            os.chown(p, uid, gid)
            os.chmod(p, mode)

        # Plain files of root: unreadable, read-only, world-writable (one per mutating operation).
        f('secret', 0o600)
        f('public', 0o644)
        f('everyone', 0o666)
        f('everyone_otrunc', 0o666)
        f('everyone_truncate', 0o666)
        f('big', 0o644, size=8 << 20)
        # Group access through the supplementary group (and the group class denying what others may do).
        f('groupfile', 0o664, 0, SUPP)
        f('groupread', 0o640, 0, SUPP)
        f('group_excluded', 0o604, 0, SUPP)
        # Set-id files of another user: writable ones (a write or truncate by a non-owner must clear the bits)
        # and read-only ones.
        f('suid_w', 0o4777, OTHER, OTHER)
        f('sgid_groupexec_w', 0o2777, OTHER, OTHER)
        f('sgid_no_groupexec_w', 0o2766, OTHER, OTHER)   # setgid without group-execute is not a privilege: kept
        f('suid_truncate', 0o4777, OTHER, OTHER)
        f('setid_otrunc', 0o6777, OTHER, OTHER)
        f('suid_ro', 0o4755, OTHER, OTHER)
        f('sgid_ro', 0o2755, OTHER, OTHER)
        # The attacker's own files.
        f('mine', 0o644, NOBODY, NOBODY)
        f('mine_foreign_group', 0o644, NOBODY, 0)        # group root, which the attacker is not in
        f('mine_suid', 0o4755, NOBODY, NOBODY)
        f('mine_suid_chown', 0o6775, NOBODY, NOBODY)
        # Directories.
        d('sticky', 0o1777)
        f('sticky/root_file', 0o666)
        f('sticky/own_file', 0o644, NOBODY, NOBODY)
        f('sticky/own_file2', 0o644, NOBODY, NOBODY)
        d('sticky/root_dir', 0o777)
        d('open_dir', 0o777)
        f('open_dir/root_file', 0o644)
        d('ro_dir', 0o755)
        f('ro_dir/f', 0o666)
        d('private_dir', 0o700)
        f('private_dir/f', 0o644)
        d('group_dir', 0o770, 0, SUPP)
        d('sgid_dir', 0o2777, 0, SUPP)
        d('nobody_dir', 0o755, NOBODY, NOBODY)
        f('nobody_dir/root_file', 0o600)
        print('ready')
        """;

    /// <summary>
    /// argv[1]: the root. One line per entry, sorted: type, mode, owner, and for files size, link count and a
    /// digest of the content; "mtime=fixed" marks the explicit time the battery sets. Directory sizes and link
    /// counts are left out: they differ between file systems without meaning anything for permissions.
    /// </summary>
    public const string SnapshotScript = """
        import hashlib, os, stat, sys
        R = sys.argv[1]
        out = []
        for dirpath, dirs, files in os.walk(R):
            for name in dirs + files:
                p = os.path.join(dirpath, name)
                s = os.lstat(p)
                line = f'{os.path.relpath(p, R)}: mode={s.st_mode:o} uid={s.st_uid} gid={s.st_gid}'
                if stat.S_ISREG(s.st_mode):
                    with open(p, 'rb') as fh:
                        digest = hashlib.sha1(fh.read()).hexdigest()[:12]
                    line += f' size={s.st_size} nlink={s.st_nlink} sha1={digest}'
                if int(s.st_mtime) == 1234567890:
                    line += ' mtime=fixed'
                out.append(line)
        print('\n'.join(sorted(out)))
        """;
}
