using System.Diagnostics;
using DirectFuse.Examples.MemFs;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;
using Xunit.Abstractions;

namespace DirectFuse.Tests.Security;

/// <summary>
/// Side doors to a file nobody may open: root's process holding it open and mapped (/proc/PID/fd,
/// /proc/PID/map_files, /proc/PID/root), reopening an O_PATH descriptor through /proc/self/fd, and file
/// handles (name_to_handle_at, open_by_handle_at). Nobody gets the same answers as on tmpfs, and none of the
/// doors yields the file.
/// </summary>
/// <remarks>
/// shmfs without default_permissions is left out: it checks no permissions at all yet, so the O_PATH reopen
/// (an OPEN the server must refuse) succeeds there; <see cref="ShmfsPermissionParityTests"/> covers that.
/// </remarks>
public sealed class ProcAndHandleTests(ITestOutputHelper output)
{
    /// <summary>argv[1]: root's 0600 file. Holds it open and mapped; prints "pid fd range handle_type handle_hex", then waits for stdin to close.</summary>
    private const string Holder = """
        import ctypes, mmap, os, sys
        p = sys.argv[1]
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(p, os.O_RDWR)
        mm = mmap.mmap(fd, 0, mmap.MAP_SHARED)
        start = ctypes.addressof(ctypes.c_char.from_buffer(mm))
        rng = next(l.split()[0] for l in open('/proc/self/maps') if int(l.split('-')[0], 16) == start)
        class FH(ctypes.Structure):
            _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int), ('f_handle', ctypes.c_ubyte * 128)]
        fh, mount_id = FH(128), ctypes.c_int()
        if libc.name_to_handle_at(-100, p.encode(), ctypes.byref(fh), ctypes.byref(mount_id), 0) == 0:
            handle = (fh.handle_type, bytes(fh.f_handle[:fh.handle_bytes]).hex())
        else:
            handle = (-1, '')
        print(os.getpid(), fd, rng, handle[0], handle[1] or '-', flush=True)
        sys.stdin.read()
        """;

    /// <summary>argv: mount root, file, holder pid, holder fd, mapping range, handle type, handle hex.</summary>
    private const string Attacker = """
        import ctypes, errno, os, sys
        root, p, pid, hfd, rng, htype, hhex = sys.argv[1:8]
        libc = ctypes.CDLL(None, use_errno=True)
        class FH(ctypes.Structure):
            _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int), ('f_handle', ctypes.c_ubyte * 128)]
        def check(r):
            if r < 0:
                e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
            return r
        def op(name, fn):
            try:
                r = fn(); print(f'{name}: OK' + ('' if r is None else f' {r}'))
            except OSError as e:
                print(f'{name}: {errno.errorcode.get(e.errno, e.errno)}')
        def read(path):
            with open(path, 'rb') as f: return len(f.read())
        op('read_directly', lambda: read(p))
        op('read_via_proc_fd', lambda: read(f'/proc/{pid}/fd/{hfd}'))
        op('readlink_proc_fd', lambda: os.readlink(f'/proc/{pid}/fd/{hfd}') and None)
        op('list_proc_fd', lambda: len(os.listdir(f'/proc/{pid}/fd')) and None)
        op('read_via_map_files', lambda: read(f'/proc/{pid}/map_files/{rng}'))
        op('list_map_files', lambda: len(os.listdir(f'/proc/{pid}/map_files')) and None)
        op('read_via_proc_root', lambda: read(f'/proc/{pid}/root{p}'))
        opath = []
        op('open_o_path', lambda: opath.append(os.open(p, os.O_PATH)))
        op('reopen_o_path_via_proc_self_fd', lambda: read(f'/proc/self/fd/{opath[0]}') if opath else None)
        own, mount_id = FH(128), ctypes.c_int()
        op('name_to_handle_at', lambda: [check(libc.name_to_handle_at(-100, p.encode(), ctypes.byref(own), ctypes.byref(mount_id), 0))] and None)
        mfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        op('open_by_handle_at_own_handle', lambda: os.close(check(libc.open_by_handle_at(mfd, ctypes.byref(own), os.O_RDONLY))))
        roots = FH(len(bytes.fromhex(hhex)) if hhex != '-' else 0, int(htype))
        if hhex != '-': ctypes.memmove(roots.f_handle, bytes.fromhex(hhex), roots.handle_bytes)
        op('open_by_handle_at_roots_handle', lambda: os.close(check(libc.open_by_handle_at(mfd, ctypes.byref(roots), os.O_RDONLY))))
        """;

    /// <summary>Operations that would hand the attacker root's file: none may answer OK.</summary>
    private static readonly string[] Doors =
    [
        "read_directly", "read_via_proc_fd", "read_via_map_files", "read_via_proc_root", "reopen_o_path_via_proc_self_fd",
        "open_by_handle_at_own_handle", "open_by_handle_at_roots_handle",
    ];

    public enum Target { MemFsDefaultPermissions, MemFsNoDefaultPermissions, ShmfsDefaultPermissions }

    [Theory]
    [InlineData(Target.MemFsDefaultPermissions)]
    [InlineData(Target.MemFsNoDefaultPermissions)]
    [InlineData(Target.ShmfsDefaultPermissions)]
    public void Nobody_cannot_reach_roots_open_file_through_proc_or_file_handles(Target target)
    {
        List<string> expected, actual;
        using (var tmpfs = TempTmpfs.Create(HostileScenario.RootMode))
            expected = Attack(tmpfs.Path);
        bool dp = target != Target.MemFsNoDefaultPermissions;
        DirectFuse.LowLevel.LowLevelFileSystem fs = target == Target.ShmfsDefaultPermissions
            ? new ShmFileSystem()
            : new MemFileSystem(new MemFileSystemOptions { RootMode = HostileScenario.RootMode, RootUid = 0, RootGid = 0 });
        using (var m = TempMount.Create(fs, new FuseSessionOptions { Mount = new MountOptions { AllowOther = true, DefaultPermissions = dp, Subtype = "test" } }))
            actual = Attack(m.Path);
        output.WriteLine(string.Join('\n', actual));
        string? diff = PermissionParity.Diff(expected, actual);
        Assert.True(diff is null, $"{target}: {diff}");
        foreach (var line in actual.Where(l => Doors.Any(d => l.StartsWith(d + ": ", StringComparison.Ordinal))))
            Assert.DoesNotContain(": OK", line);
    }

    /// <summary>Root creates and holds its 0600 file in <paramref name="root"/>; nobody tries every door. Returns nobody's lines.</summary>
    private static List<string> Attack(string root)
    {
        string file = Path.Combine(root, "secret");
        Run.Shell($"printf 'root only' > '{file}' && chmod 0600 '{file}'").EnsureSuccess("create");
        var psi = new ProcessStartInfo(Run.Python) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", Holder, file }) psi.ArgumentList.Add(a);
        using var holder = Process.Start(psi)!;
        try
        {
            var line = holder.StandardOutput.ReadLineAsync();
            if (!line.Wait(Patience.Seconds(20)) || line.Result is null)
                throw new Xunit.Sdk.XunitException($"holder did not start: {holder.StandardError.ReadToEnd()}");
            var f = line.Result.Split(' ');
            var result = CallerProcess.Python(Caller.NobodyWithoutGroups, Attacker, root, file, f[0], f[1], f[2], f[3], f[4]).EnsureSuccess("attacker");
            return result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        }
        finally
        {
            holder.StandardInput.Close();
            if (!holder.WaitForExit(Patience.Milliseconds(5000))) holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
    }
}
