using System.Text;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;
using Xunit.Abstractions;

namespace DirectFuse.Tests.Security;

/// <summary>
/// A shmfs file mapped by a client through passthrough is a sealed region: nobody — another user or its
/// owner — can grow it, shrink it or punch a hole in it under the mapping, while writes inside it still work.
/// </summary>
public sealed class ShmfsSealedRegionTests(ITestOutputHelper output)
{
    private const int Length = 64 * 1024;

    /// <summary>argv[1]: the file. One line per size-changing operation, then the size seen afterwards.</summary>
    private const string ResizeAttempts = """
        import ctypes, errno, os, sys
        p = sys.argv[1]
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
        fd = os.open(p, os.O_RDWR)
        size = os.fstat(fd).st_size
        def op(name, fn):
            try:
                fn(); print(f'{name}: OK')
            except OSError as e:
                print(f'{name}: {errno.errorcode[e.errno]}')
        def fallocate(mode, offset, length):
            if libc.fallocate(fd, mode, offset, length) != 0:
                e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
        op('ftruncate_grow', lambda: os.ftruncate(fd, size * 2))
        op('ftruncate_shrink', lambda: os.ftruncate(fd, size // 2))
        op('truncate_path', lambda: os.truncate(p, 0))
        op('open_otrunc', lambda: os.close(os.open(p, os.O_WRONLY | os.O_TRUNC)))
        op('pwrite_past_end', lambda: os.pwrite(fd, b'x', size))
        op('punch_hole', lambda: fallocate(3, 0, 4096))          # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
        op('fallocate_grow', lambda: fallocate(0, 0, size * 2))
        print(f'size: {os.fstat(fd).st_size}')
        """;

    [Theory]
    [InlineData(Caller.NobodyWithoutGroups, true)]
    [InlineData(Caller.NobodyWithoutGroups, false)]
    [InlineData(Caller.Root, true)]
    [InlineData(Caller.Root, false)]
    public void A_mapped_region_keeps_its_size_and_bytes(Caller caller, bool defaultPermissions)
    {
        var fs = new ShmFileSystem();
        using var m = TempMount.Create(fs, new FuseSessionOptions { Mount = new MountOptions { AllowOther = true, DefaultPermissions = defaultPermissions, Subtype = "test" } });
        string file = m["sealed"];
        // Root's file, writable by everybody: permission checks are not what stops the attacker here.
        Run.PythonScript($"import os\nwith open('{file}', 'wb') as f: f.write(b'k' * {Length})\nos.chmod('{file}', 0o666)").EnsureSuccess("create");
        using var holder = MmapClientProcess.Start();
        holder.Ok($"open {file}");
        holder.Ok($"map {Length}");
        holder.Ok("write 100 mapped-by-root");
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return; // sealing comes with passthrough opens

        var lines = CallerProcess.Python(caller, ResizeAttempts, file).EnsureSuccess("resize attempts").StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(string.Join('\n', lines));
        foreach (var line in lines.Where(l => !l.StartsWith("size:", StringComparison.Ordinal)))
            Assert.False(line.EndsWith(": OK", StringComparison.Ordinal), $"{caller} changed the size of a mapped region: {line}\n{string.Join('\n', lines)}");
        Assert.Equal($"size: {Length}", lines[^1]);

        var region = fs.RegionOf("/sealed")!;
        Assert.Equal(Length, region.Length);
        Assert.Equal("mapped-by-root", holder.Ok("read 100 14"));
        Assert.Equal("mapped-by-root", Encoding.ASCII.GetString(region.GetSpan(100, 14)));
        Assert.Equal("kkkk", holder.Ok("read 0 4"));           // no hole at the start
        Assert.Equal("kkkk", holder.Ok($"read {Length - 4} 4"));
        holder.Ok("close");
    }
}
