using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Security;

/// <summary>Who runs the attacker battery.</summary>
public enum Caller
{
    /// <summary>Root with all capabilities: may do everything tmpfs lets root do.</summary>
    Root,
    /// <summary>uid/gid 65534 holding <see cref="HostileScenario.SupplementaryGid"/> as a supplementary group.</summary>
    NobodyWithSupplementaryGroup,
    /// <summary>uid/gid 65534 with no supplementary groups.</summary>
    NobodyWithoutGroups,
}

public static class CallerProcess
{
    /// <summary>Runs python3 with <paramref name="script"/> as <paramref name="caller"/> (setpriv drops root's identity and capabilities).</summary>
    public static ProcessResult Python(Caller caller, string script, params string[] args)
    {
        if (caller == Caller.Root) return Run.PythonScript(script, args);
        string groups = caller == Caller.NobodyWithSupplementaryGroup ? $"--groups={HostileScenario.SupplementaryGid}" : "--clear-groups";
        return Run.Process("setpriv", new[] { $"--reuid={HostileScenario.Nobody}", $"--regid={HostileScenario.Nobody}", groups, Run.Python, "-c", script }.Concat(args));
    }
}
