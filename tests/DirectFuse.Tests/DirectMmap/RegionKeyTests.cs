using System.Text;
using DirectFuse.DirectMmap;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>
/// Per-process share keys name the process as it is unique while the system runs (uid, pid and start time),
/// so a process that gets a reused pid never reaches the region of the one that had it before.
/// </summary>
public sealed class RegionKeyTests
{
    // A thread id above pid_max: /proc shows no such thread.
    private const uint NoSuchThread = 4_000_000_000;

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
    public void A_policy_and_resolve_look_the_process_up_once_and_with_changes_the_thread()
    {
        var caller = new RegionCaller(1000, 100, (uint)Environment.ProcessId, null);
        ProcessIdentity? fromPolicy = null;
        var (key, _) = RegionPolicy.FromCallback(4096, c => { fromPolicy = c.LookUpProcess(); return new RegionChoice(); }).Resolve(caller);
        Assert.Equal($"private:pid:1000:{fromPolicy!.Value.Pid}:{fromPolicy.Value.StartTime}", key);
        Assert.Null((caller with { ThreadId = NoSuchThread }).LookUpProcess()); // not the cached answer of the original
        Assert.Equal(caller, caller with { }); // the cache takes no part in equality
    }
}
