using System.Text;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Fmmap;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>
/// Per-process share keys name the process as it is unique while the system runs (uid, pid and start time),
/// so a process that gets a reused pid never reaches the region of the one that had it before.
/// </summary>
public sealed class RegionKeyTests
{
    // A thread id above pid_max: /proc shows no such thread.
    private const uint NoSuchThread = 4_000_000_000;
    private const string Secret = "secret";

    /// <summary>Field 22 of a /proc stat file, parsed from the last ')' as the comm may hold anything.</summary>
    internal static ulong StartTimeOf(string statPath)
    {
        string stat = File.ReadAllText(statPath);
        return ulong.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19]);
    }

    [Fact]
    public void Every_thread_of_a_process_has_the_process_identity_not_its_own_start_time()
    {
        int pid = Environment.ProcessId;
        var ours = new ProcessIdentity((uint)pid, StartTimeOf($"/proc/{pid}/stat"));
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            Assert.Equal(ours, ProcessIdentity.OfThread(uint.Parse(Path.GetFileName(task))));
        // A thread started now, long after the process: its own start time is later, its identity the same.
        (ProcessIdentity? Identity, ulong ThreadStart) seen = default;
        var thread = new Thread(() =>
        {
            uint tid = uint.Parse(Path.GetFileName(Directory.ResolveLinkTarget("/proc/thread-self", false)!.FullName));
            seen = (ProcessIdentity.OfThread(tid), StartTimeOf($"/proc/{pid}/task/{tid}/stat"));
        });
        thread.Start();
        thread.Join();
        Assert.Equal(ours, seen.Identity);
        Assert.True(seen.ThreadStart > ours.StartTime, $"thread started at {seen.ThreadStart}, process at {ours.StartTime}");
    }

    [Theory]
    [InlineData("1 (sh) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 777 8 9\n", 777UL)]
    // A comm with spaces, ')' and numbers: read from the first ')', field 22 would be "1".
    [InlineData("42 () 1 1 1 1 1 1 1) R 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 123456789 1\n", 123456789UL)]
    public void Start_time_is_field_22_counted_from_the_last_parenthesis(string stat, ulong startTime)
    {
        Assert.True(ProcFiles.TryParseStartTime(Encoding.ASCII.GetBytes(stat), out ulong parsed));
        Assert.Equal(startTime, parsed);
    }

    [Fact]
    public void A_stat_or_status_cut_short_is_not_guessed_from()
    {
        Assert.False(ProcFiles.TryParseStartTime("1 (sh) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 777"u8, out _));
        Assert.False(ProcFiles.TryParseStartTime("1 (sh) S 0 1"u8, out _));
        Assert.False(ProcFiles.TryParseThreadGroup("Name:\tsh\nUmask:\t0022\nState:\tS\nTgid:\t12"u8, out _));
        Assert.True(ProcFiles.TryParseThreadGroup("Name:\tsh\nUmask:\t0022\nState:\tS\nTgid:\t12\n"u8, out uint tgid));
        Assert.Equal(12u, tgid);
    }

    [Fact]
    public void A_caller_whose_process_proc_does_not_show_gets_no_per_process_key()
    {
        var ghost = new RegionCaller(1000, 100, NoSuchThread, null);
        Assert.Null(ghost.LookUpProcess());
        Assert.Null(ProcessIdentity.OfThread(0)); // the pid of a caller outside the server's pid namespace
        Assert.Equal(Errno.ESRCH, Assert.Throws<FuseException>(() => RegionPolicy.PerProcess(4096).Resolve(ghost)).Errno);
        Assert.Equal(Errno.ESRCH, Assert.Throws<FuseException>(() => RegionPolicy.FromCallback(4096, _ => new RegionChoice()).Resolve(ghost)).Errno);
        Assert.Equal("uid:1000", RegionPolicy.PerUid(4096).Resolve(ghost).Key); // keys that name no process still work
    }

    [Fact]
    public void The_process_a_policy_sees_is_the_one_the_private_key_names_and_a_copy_for_another_thread_looks_again()
    {
        var caller = new RegionCaller(1000, 100, (uint)Environment.ProcessId, null);
        ProcessIdentity? fromPolicy = null;
        var (key, _) = RegionPolicy.FromCallback(4096, c => { fromPolicy = c.LookUpProcess(); return new RegionChoice(); }).Resolve(caller);
        Assert.Equal($"private:pid:1000:{fromPolicy!.Value.Pid}:{fromPolicy.Value.StartTime}", key);
        Assert.Null((caller with { ThreadId = NoSuchThread }).LookUpProcess()); // not the cached answer of the original
        Assert.Equal(caller, caller with { }); // the cache takes no part in equality
    }

    /// <summary>
    /// Issue 9's attack on a real mount: root's process P writes a secret into its per-process region, leaves a
    /// child holding the file open (so the region lives on) and exits; a new process then gets P's very pid (set
    /// through /proc/sys/kernel/ns_last_pid), as nobody or as root again, and opens the file. It must get a
    /// zeroed region of its own.
    /// </summary>
    [Theory]
    [InlineData("nobody", 65534u)]
    [InlineData("root", 0u)]
    public void A_process_that_reuses_a_pid_does_not_get_the_old_process_region(string reuser, uint reuserUid)
    {
        var fs = new FmmapFileSystem(1 << 16, RegionPolicy.PerProcess(1 << 16));
        var freed = new List<string?>();
        fs.AddressSpace.RegionDestroyed += r => { lock (freed) freed.Add(r.ShareKey); };
        using var m = FmmapTests.Mount(fs);
        var output = Run.PythonScript(ReusePidScript, m[FmmapFileSystem.FileName], reuser).EnsureSuccess("pid reuse").StdOut.Split();
        // output: the victim's pid and start time, then what the process with its reused pid read and its start time.
        Assert.Equal(["victim", "reused", Secret.Length.ToString()], [output[0], output[3], output[5]]);
        string victimPid = output[1], victimStart = output[2], reusedStart = output[4];
        Assert.Equal(new string('0', 2 * Secret.Length), output[6]); // a zeroed region: not the victim's secret
        Assert.True(SpinWait.SpinUntil(() => { lock (freed) return freed.Count == 2; }, Patience.Milliseconds(5000)), "both regions freed after their last release");
        string[] expected = [$"pid:0:{victimPid}:{victimStart}", $"pid:{reuserUid}:{victimPid}:{reusedStart}"];
        lock (freed) Assert.Equal(expected.Order(StringComparer.Ordinal), freed.Order(StringComparer.Ordinal));
    }

    private const string ReusePidScript = """
        import ctypes, mmap, os, sys, time
        path, reuser = sys.argv[1], sys.argv[2]
        SIZE, SECRET = 65536, b'secret'
        def start_time():
            stat = open('/proc/self/stat').read()
            return stat[stat.rindex(')') + 2:].split()[19]
        # The keeper, orphaned when the victim exits, is reaped here rather than by init.
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        stop_r, stop_w = os.pipe()    # the keeper lives until this write end closes, also if this script dies
        ready_r, ready_w = os.pipe()
        sys.stdout.flush()
        victim = os.fork()
        if victim == 0:
            os.close(stop_w); os.close(ready_r)
            fd = os.open(path, os.O_RDWR)
            with mmap.mmap(fd, SIZE, mmap.MAP_SHARED) as m:
                m[0:len(SECRET)] = SECRET
            if os.fork() == 0:        # the keeper holds the open file, so the victim's region lives on
                os.close(ready_w)
                os.read(stop_r, 1)
                os._exit(0)
            time.sleep(0.05)          # some clock ticks: a reuser of the same uid differs only in start time
            os.write(ready_w, start_time().encode())
            os._exit(0)
        os.close(stop_r); os.close(ready_w)
        victim_start = os.read(ready_r, 64).decode()
        os.waitpid(victim, 0)         # the victim's pid is free again
        for attempt in range(100):
            with open('/proc/sys/kernel/ns_last_pid', 'w') as f:
                f.write(str(victim - 1))
            child = os.fork()
            if child == 0:
                if os.getpid() != victim:
                    os._exit(3)       # somebody else took the pid first: try again
                if reuser == 'nobody':
                    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
                fd = os.open(path, os.O_RDWR)
                with mmap.mmap(fd, SIZE, mmap.MAP_SHARED) as m:
                    seen = m[0:len(SECRET)]
                os.close(fd)
                os.write(1, f'victim {victim} {victim_start} reused {start_time()} {len(seen)} {seen.hex()}\n'.encode())
                os._exit(0)
            _, status = os.waitpid(child, 0)
            if os.waitstatus_to_exitcode(status) != 3:
                break
        else:
            sys.exit('could not get pid %d again' % victim)
        os.close(stop_w)
        os.wait()                     # the keeper
        sys.exit(os.waitstatus_to_exitcode(status))
        """;
}
