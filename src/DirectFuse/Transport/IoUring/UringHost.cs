using System.Runtime.InteropServices;

namespace DirectFuse.Transport.IoUring;

/// <summary>
/// What the machine says about FUSE over io_uring before a connection asks for it: the fuse module's
/// <c>enable_uring</c> parameter, whether io_uring itself works (it can be disabled by sysctl or seccomp), and
/// the CPUs the kernel makes one queue each for.
/// </summary>
internal static unsafe partial class UringHost
{
    /// <summary>The fuse module parameter that lets connections negotiate FUSE_OVER_IO_URING (kernel 6.14+).</summary>
    public const string EnableParameter = "/sys/module/fuse/parameters/enable_uring";

    /// <summary>Null when FUSE over io_uring can be asked for; otherwise why not, in words for a log line.</summary>
    public static string? WhyUnavailable()
    {
        string value;
        try
        {
            value = File.ReadAllText(EnableParameter).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"the kernel has no FUSE io_uring support ({EnableParameter} is missing: needs Linux 6.14+ with CONFIG_FUSE_IO_URING)";
        }
        if (value is not ("Y" or "1")) return $"{EnableParameter} is {value} (set it to Y as root to allow FUSE over io_uring)";
        // A ring of one entry proves io_uring_setup with 128-byte entries works here (kernel.io_uring_disabled,
        // seccomp and old kernels refuse it). Checked before INIT asks for io_uring, because once it is
        // negotiated the kernel holds every request until the ring is registered.
        using var probe = IoUringRing.Create(1, 2, 0, out int errno);
        return probe is null ? $"io_uring_setup failed: {new Errno(errno)}" : null;
    }

    /// <summary>
    /// How many queues the kernel expects: one per possible CPU (num_possible_cpus), numbered from 0. Requests
    /// go to the queue of the CPU the caller runs on.
    /// </summary>
    public static int PossibleCpus()
    {
        try
        {
            int count = 0;
            foreach (var part in File.ReadAllText("/sys/devices/system/cpu/possible").Trim().Split(','))
            {
                var bounds = part.Split('-');
                int first = int.Parse(bounds[0]), last = bounds.Length > 1 ? int.Parse(bounds[1]) : first;
                count += last - first + 1;
            }
            return Math.Max(1, count);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return Environment.ProcessorCount;
        }
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/>; returns 0 or the errno (offline CPU, cpuset).</summary>
    public static int PinCurrentThread(int cpu)
    {
        // A cpu_set_t of 1024 bits, as glibc's.
        var mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        if (cpu < 0 || cpu >= 1024) return 22;
        mask[cpu / 64] = 1UL << (cpu % 64);
        return sched_setaffinity(0, 16 * sizeof(ulong), mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// statx(2) of <paramref name="path"/> with AT_STATX_FORCE_SYNC, which on FUSE always sends GETATTR (no cached
    /// attributes): 0 or the errno. The result itself is not needed.
    /// </summary>
    public static int ForceGetAttr(byte* path)
    {
        const int AtFdCwd = -100, AtStatxForceSync = 0x2000;
        const uint StatxType = 1;
        var buffer = stackalloc byte[256]; // struct statx
        return statx(AtFdCwd, path, AtStatxForceSync, StatxType, buffer) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);
}
