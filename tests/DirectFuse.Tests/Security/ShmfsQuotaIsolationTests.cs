using System.Security.Cryptography;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Security;

/// <summary>
/// One user filling shmfs' quota gets EDQUOT (the quota is the address space's; shmfs reports what
/// <see cref="MmapAddressSpace.CreateRegion"/> throws) and damages nothing of anyone else.
/// </summary>
public sealed class ShmfsQuotaIsolationTests
{
    private const long Quota = 4L << 20;

    /// <summary>argv[1]: the file to grow. Writes 64 KiB blocks until a write fails; prints the errno name.</summary>
    private const string Fill = """
        import errno, os, sys
        fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        block, written = b'n' * 65536, 0
        try:
            while written < (64 << 20):
                written += os.write(fd, block)
            print('no error')
        except OSError as e:
            print(errno.errorcode[e.errno])
        """;

    private const string Digest = "import hashlib, sys\nprint(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Nobody_exhausting_the_quota_gets_EDQUOT_and_roots_files_stay_intact(bool defaultPermissions)
    {
        var fs = new ShmFileSystem(new MmapAddressSpaceOptions { Quota = Quota });
        using var m = TempMount.Create(fs, new FuseSessionOptions { Mount = new MountOptions { AllowOther = true, DefaultPermissions = defaultPermissions, Subtype = "test" } });
        byte[] data = RandomNumberGenerator.GetBytes(1 << 20);
        File.WriteAllBytes(m["root_file"], data);       // one creating open: the file gets its size
        Run.Process("chmod", "0644", m["root_file"]).EnsureSuccess("chmod");
        string expected = Convert.ToHexStringLower(SHA256.HashData(data));

        Assert.Equal("EDQUOT", CallerProcess.Python(Caller.NobodyWithoutGroups, Fill, m["nobody_file"]).EnsureSuccess("fill").StdOut.Trim());
        Assert.True(fs.AddressSpace.Usage.Reserved <= Quota);

        Assert.Equal(expected, Run.PythonScript(Digest, m["root_file"]).EnsureSuccess("root reads").StdOut.Trim());
        Assert.Equal(expected, CallerProcess.Python(Caller.NobodyWithoutGroups, Digest, m["root_file"]).EnsureSuccess("nobody reads").StdOut.Trim());
        Assert.Equal(data, fs.RegionOf("/root_file")!.Span.ToArray());
        Assert.Equal(data.Length, new FileInfo(m["root_file"]).Length);
    }
}
