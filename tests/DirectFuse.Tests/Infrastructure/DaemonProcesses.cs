namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// Finds a daemon by one of its arguments (a mount point unique to the test), since the command that started it
/// has exited: <c>directfuse memfs /tmp/df-cli-abc</c> leaves a process whose command line ends in that path.
/// </summary>
public static class DaemonProcesses
{
    /// <summary>The pids of other processes with an argument equal to <paramref name="argument"/>.</summary>
    public static List<int> WithArgument(string argument)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0').Contains(argument)) found.Add(pid);
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Waits until no process has <paramref name="argument"/>; true if none is left.</summary>
    public static bool WaitUntilGone(string argument, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + Patience.Of(timeout);
        while (WithArgument(argument).Count > 0)
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(50);
        }
        return true;
    }

    /// <summary>SIGKILL to every process with <paramref name="argument"/>.</summary>
    public static void Kill(string argument)
    {
        foreach (int pid in WithArgument(argument)) Run.Process("kill", "-9", pid.ToString());
    }
}

/// <summary>
/// A temporary mount point for a daemon the test starts through the mount(8) form: Dispose always removes the
/// mount and kills whatever process still serves it, so a failing test leaves neither behind.
/// </summary>
public sealed class DaemonMountPoint : IDisposable
{
    public DaemonMountPoint(string prefix = "df-daemon-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        Mounts.ForceUnmount(Path);
        if (!DaemonProcesses.WaitUntilGone(Path, TimeSpan.FromSeconds(5))) DaemonProcesses.Kill(Path);
        DaemonProcesses.WaitUntilGone(Path, TimeSpan.FromSeconds(5));
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
            // Busy for a moment after a lazy unmount; an empty temp directory is harmless.
        }
    }
}
