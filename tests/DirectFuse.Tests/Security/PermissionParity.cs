using System.Text;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Security;

/// <summary>
/// Runs the <see cref="AttackerBattery"/> against the <see cref="HostileScenario"/> on a fresh tmpfs and on a
/// fresh FUSE mount and asserts that both print the same lines, then that root sees the same trees afterwards.
/// tmpfs is the oracle: no expectation is written down by hand, so a test fails exactly when the FUSE file
/// system answers a caller differently from Linux.
/// </summary>
public static class PermissionParity
{
    /// <summary>
    /// memfs (by default) and shmfs let the kernel cache names and attributes for 1 s. The battery starts after
    /// that, so every name it uses is looked up with the attacker's credentials: without default_permissions a
    /// name root looked up a moment ago is reached without asking the server (a separate concern), and waiting
    /// keeps the outcome independent of how fast the setup ran.
    /// </summary>
    private static readonly TimeSpan KernelCacheTimeout = TimeSpan.FromSeconds(1.1);

    /// <summary>Every variant a file system is compared in: with and without default_permissions, each caller.</summary>
    public static TheoryData<bool, Caller> Variants => new()
    {
        { true, Caller.NobodyWithSupplementaryGroup }, { true, Caller.NobodyWithoutGroups }, { true, Caller.Root },
        { false, Caller.NobodyWithSupplementaryGroup }, { false, Caller.NobodyWithoutGroups }, { false, Caller.Root },
    };

    /// <summary>
    /// Mounts <paramref name="fs"/> with allow_other (and default_permissions when asked) and compares it with
    /// tmpfs for <paramref name="caller"/>.
    /// </summary>
    public static void AssertSameAsTmpfs(string name, DirectFuse.LowLevel.LowLevelFileSystem fs, bool defaultPermissions, Caller caller, IReadOnlyCollection<string> excluded) =>
        AssertSameAsTmpfs(
            $"{name} ({(defaultPermissions ? "" : "no ")}default_permissions)",
            () => TempMount.Create(fs, new DirectFuse.Session.FuseSessionOptions
            {
                Mount = new DirectFuse.Session.MountOptions { AllowOther = true, DefaultPermissions = defaultPermissions, Subtype = "test" },
            }),
            caller, excluded);

    public static void AssertSameAsTmpfs(string label, Func<TempMount> mount, Caller caller, IReadOnlyCollection<string> excluded)
    {
        // Before 6.6 the oracle refuses user xattrs (ENOTSUP): those operations have nothing to be compared with.
        if (!TempTmpfs.HasUserXattrs) excluded = excluded.Union(AttackerBattery.UserXattrs).ToArray();
        // Before 5.11 the kernel does not tell the server to drop these bits (and the server cannot know whether
        // the caller holds CAP_FSETID): a documented gap of old kernels, not an answer to compare.
        if (!KernelFeatures.KillPrivV2) excluded = excluded.Union(AttackerBattery.SetIdDropsNeedingKillPrivV2).ToArray();
        List<string> expected, actual;
        using (var tmpfs = TempTmpfs.Create(HostileScenario.RootMode))
            expected = Exercise(tmpfs.Path, caller, excluded, TimeSpan.Zero);
        using (var m = mount())
            actual = Exercise(m.Path, caller, excluded, KernelCacheTimeout);
        string? diff = Diff(expected, actual);
        if (diff is not null) throw new Xunit.Sdk.XunitException($"{label}, caller {caller}: {diff}");
    }

    /// <summary>Builds the tree as root, runs the battery as <paramref name="caller"/>, then lists the tree as root.</summary>
    private static List<string> Exercise(string root, Caller caller, IReadOnlyCollection<string> excluded, TimeSpan settle)
    {
        Run.PythonScript(HostileScenario.SetupScript, root).EnsureSuccess("scenario setup");
        Thread.Sleep(settle);
        var battery = CallerProcess.Python(caller, AttackerBattery.Script, root, string.Join(',', excluded)).EnsureSuccess("attacker battery");
        var snapshot = Run.PythonScript(HostileScenario.SnapshotScript, root).EnsureSuccess("snapshot");
        return Lines(battery.StdOut).Concat(Lines(snapshot.StdOut).Select(l => "after " + l)).ToList();
    }

    private static IEnumerable<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Null when equal; otherwise, per differing key (the text before the first ": "), tmpfs's line and the
    /// mount's line, in tmpfs's order, then keys only one side printed.
    /// </summary>
    public static string? Diff(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        if (expected.SequenceEqual(actual)) return null;
        static string Key(string line) => line.IndexOf(": ", StringComparison.Ordinal) is var i and >= 0 ? line[..i] : line;
        var mine = new Dictionary<string, string>();
        foreach (var line in actual) mine.TryAdd(Key(line), line);
        var seen = new HashSet<string>();
        var sb = new StringBuilder();
        int differing = 0;
        foreach (var line in expected)
        {
            string key = Key(line);
            seen.Add(key);
            if (mine.TryGetValue(key, out var other) && other == line) continue;
            differing++;
            sb.Append("\n  ").Append(key)
              .Append("\n    tmpfs: ").Append(line.Length > key.Length ? line[(key.Length + 2)..] : "")
              .Append("\n    fuse:  ").Append(other is null ? "(missing)" : other.Length > key.Length ? other[(key.Length + 2)..] : "");
        }
        foreach (var line in actual.Where(l => !seen.Contains(Key(l))))
        {
            differing++;
            sb.Append("\n  ").Append(Key(line)).Append("\n    tmpfs: (missing)\n    fuse:  ").Append(line[Math.Min(line.Length, Key(line).Length + 2)..]);
        }
        if (differing == 0) return "same lines in a different order:\n" + string.Join('\n', actual);
        return $"{differing} of {expected.Count} lines differ from tmpfs:{sb}";
    }
}
