using System.Diagnostics;

namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// A private mount namespace in which mount(8), fstab and mount.fuse3 find our <c>directfuse</c>: mount(8) runs
/// helpers without PATH, so /bin/sh looks in its default path (/usr/local/sbin first), where a bind mount puts a
/// wrapper that runs the CLI under test (<see cref="CliProcess.Command"/>: the Native AOT binary, or the JIT build). Commands run in it through nsenter. Whatever is mounted in it is invisible to
/// the rest of the machine and disappears with it; Dispose kills every process left in it (a daemon), then the
/// holder, so nothing outlives the test.
/// </summary>
public sealed class MountNamespace : IDisposable
{
    private readonly Process _holder;
    private readonly string _bin;
    private readonly string _namespace;

    private MountNamespace(Process holder, string bin, string ns)
    {
        _holder = holder;
        _bin = bin;
        _namespace = ns;
    }

    public int HolderPid => _holder.Id;

    /// <summary>The directory of the default PATH that the wrapper is bound over.</summary>
    public static string HelperDirectory => Directory.Exists("/usr/local/sbin") ? "/usr/local/sbin" : "/usr/local/bin";

    public static MountNamespace Create()
    {
        string bin = Directory.CreateTempSubdirectory("df-bin-").FullName;
        string wrapper = Path.Combine(bin, "directfuse");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec {CliProcess.ShellCommand} \"$@\"\n");
        Infrastructure.Run.Process("chmod", "755", wrapper).EnsureSuccess("chmod the directfuse wrapper");
        var psi = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                     $"mount --bind '{bin}' {HelperDirectory} && echo ready && exec sleep {(int)Patience.Seconds(600).TotalSeconds}" })
            psi.ArgumentList.Add(a);
        var holder = Process.Start(psi) ?? throw new InvalidOperationException("could not start unshare");
        var line = holder.StandardOutput.ReadLineAsync();
        if (!line.Wait(Patience.Seconds(20)) || line.Result != "ready")
        {
            string err = holder.HasExited ? holder.StandardError.ReadToEnd() : "";
            if (!holder.HasExited) holder.Kill();
            Directory.Delete(bin, recursive: true);
            throw new InvalidOperationException("could not set up a private mount namespace: " + err);
        }
        string ns = new FileInfo($"/proc/{holder.Id}/ns/mnt").LinkTarget!;
        return new MountNamespace(holder, bin, ns);
    }

    /// <summary>Runs a command in the namespace.</summary>
    public ProcessResult Run(params string[] command) => Run(null, command);

    /// <summary>Runs a command in the namespace with extra environment variables.</summary>
    public ProcessResult Run(IReadOnlyDictionary<string, string?>? environment, params string[] command) =>
        Infrastructure.Run.Process("nsenter", new[] { "-t", HolderPid.ToString(), "-m", "--" }.Concat(command), TimeSpan.FromSeconds(90), environment: environment);

    /// <summary>Runs a shell command line in the namespace.</summary>
    public ProcessResult Shell(string script) => Run("/bin/sh", "-c", script);

    /// <summary>True while a FUSE file system is mounted at <paramref name="path"/> in the namespace.</summary>
    public bool IsFuseMounted(string path) =>
        File.ReadAllLines($"/proc/{HolderPid}/mounts").Any(l => l.Split(' ') is var f && f.Length > 2 && f[1] == path && f[2].StartsWith("fuse", StringComparison.Ordinal));

    /// <summary>The /proc/mounts line of <paramref name="path"/> in the namespace, or null.</summary>
    public string? MountLine(string path) =>
        File.ReadAllLines($"/proc/{HolderPid}/mounts").LastOrDefault(l => l.Split(' ') is var f && f.Length > 2 && f[1] == path);

    /// <summary>The processes in the namespace other than its holder: after a mount command returned, the daemon.</summary>
    public List<int> OtherProcesses()
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == HolderPid) continue;
            try
            {
                if (new FileInfo(Path.Combine(dir, "ns", "mnt")).LinkTarget == _namespace) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or a kernel thread.
            }
        }
        return found;
    }

    /// <summary>Waits until only the holder is left in the namespace; true if so.</summary>
    public bool WaitUntilOnlyTheHolderIsLeft(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + Patience.Of(timeout);
        while (OtherProcesses().Count > 0)
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(50);
        }
        return true;
    }

    public void Dispose()
    {
        foreach (int pid in OtherProcesses()) Infrastructure.Run.Process("kill", "-9", pid.ToString());
        WaitUntilOnlyTheHolderIsLeft(TimeSpan.FromSeconds(5));
        if (!_holder.HasExited) _holder.Kill();
        _holder.WaitForExit(5000);
        _holder.Dispose();
        Directory.Delete(_bin, recursive: true);
    }
}
