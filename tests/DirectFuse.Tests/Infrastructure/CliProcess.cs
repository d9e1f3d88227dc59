using System.Diagnostics;
using System.Text;

namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// The real <c>directfuse</c> command running as a separate process: the shipped Native AOT binary, or the JIT
/// build (see <see cref="Command"/>). Dispose kills it and removes any mount it left, so a failing test leaves
/// nothing behind.
/// </summary>
public sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly string? _mountPoint;

    private CliProcess(Process process, string? mountPoint)
    {
        _process = process;
        _mountPoint = mountPoint;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The repository the tests were built in (the directory holding DirectFuse.slnx).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DirectFuse.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The JIT build of the CLI, built next to the tests; run with <c>dotnet</c>.</summary>
    public static string DllPath
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
            return Path.Combine(RepositoryRoot, "src", "DirectFuse.Cli", "bin", configuration, "net10.0", "directfuse.dll");
        }
    }

    /// <summary>
    /// The command line that runs <c>directfuse</c>, to be followed by its arguments: the shipped Native AOT binary,
    /// which scripts/build-cli.sh publishes if the sources changed since its last publish (scripts/test.sh does so
    /// before the tests), or, with DIRECTFUSE_TEST_CLI=jit, <c>dotnet</c> and the JIT build's <see cref="DllPath"/>.
    /// A failed publish fails every test that runs the CLI, with the publish's own message.
    /// </summary>
    public static IReadOnlyList<string> Command => s_command.Value;

    private static readonly Lazy<string[]> s_command = new(() =>
        Environment.GetEnvironmentVariable("DIRECTFUSE_TEST_CLI") == "jit" ? ["dotnet", DllPath] : [AotBinary()]);

    private static string AotBinary()
    {
        var built = Run.Process("bash", [Path.Combine(RepositoryRoot, "scripts", "build-cli.sh")], TimeSpan.FromMinutes(15));
        if (built.ExitCode != 0)
            throw new InvalidOperationException($"the Native AOT directfuse could not be published (scripts/build-cli.sh exited {built.ExitCode}; " +
                $"DIRECTFUSE_TEST_CLI=jit runs the tests on the JIT build):\n{built.StdErr}{built.StdOut}");
        return built.StdOut.Trim();
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string StdOut { get { lock (_stdout) return _stdout.ToString(); } }
    public string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Starts <c>directfuse ARGS</c>; <paramref name="mountPoint"/> is cleaned up on Dispose.</summary>
    public static CliProcess Start(string? mountPoint, params string[] args) => Start(asNobody: false, mountPoint, args);

    /// <summary>Starts <c>directfuse ARGS</c> as uid/gid 65534 (an unprivileged server mounts with fusermount3).</summary>
    public static CliProcess StartAsNobody(string? mountPoint, params string[] args) => Start(asNobody: true, mountPoint, args);

    /// <summary>Starts <paramref name="command"/> (a <c>directfuse</c> other than <see cref="Command"/>) with ARGS; <paramref name="mountPoint"/> is cleaned up on Dispose.</summary>
    public static CliProcess StartWith(IReadOnlyList<string> command, string? mountPoint, params string[] args) => Start(asNobody: false, mountPoint, args, command);

    /// <summary>Starts <c>directfuse ARGS</c> with extra environment variables (NOTIFY_SOCKET, JOURNAL_STREAM).</summary>
    public static CliProcess StartWithEnvironment(IReadOnlyDictionary<string, string?> environment, string? mountPoint, params string[] args) =>
        Start(asNobody: false, mountPoint, args, environment: environment);

    private static CliProcess Start(bool asNobody, string? mountPoint, string[] args, IReadOnlyList<string>? command = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        // As from an interactive shell: a test host started in the background (CI, `cmd &`) inherits SIGINT and
        // SIGQUIT ignored, and an ignored signal stays ignored across exec, so Ctrl-C could never reach the server.
        var psi = new ProcessStartInfo(asNobody ? "setpriv" : "env")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (asNobody)
            foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "env" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--default-signal");
        if (asNobody)
            foreach (var a in new[] { "HOME=/tmp", "DOTNET_CLI_HOME=/tmp" }) psi.ArgumentList.Add(a);
        foreach (var a in (command ?? Command).Concat(args)) psi.ArgumentList.Add(a);
        // The suite's io_uring run: every file system the CLI mounts asks for FUSE over io_uring.
        if (TestTransport.IoUring && args is ["mount", ..]) foreach (var a in new[] { "-o", "io_uring" }) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) psi.Environment[name] = value;
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start directfuse");
        return new CliProcess(p, mountPoint);
    }

    /// <summary>Runs <c>directfuse ARGS</c> to completion.</summary>
    public static ProcessResult RunToEnd(params string[] args) =>
        Run.Process(Command[0], Command.Skip(1).Concat(args), TimeSpan.FromSeconds(60));

    /// <summary>Runs <c>directfuse ARGS</c> to completion with extra environment variables.</summary>
    public static ProcessResult RunToEnd(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        Run.Process(Command[0], Command.Skip(1).Concat(args), TimeSpan.FromSeconds(60), environment: environment);

    /// <summary>
    /// <see cref="Command"/> with an absolute program path (the dotnet host found on PATH for the JIT build): mount(8)
    /// runs helpers without PATH.
    /// </summary>
    public static IReadOnlyList<string> AbsoluteCommand =>
        Command[0].Contains('/') ? Command : [DotnetPath, .. Command.Skip(1)];

    /// <summary><see cref="AbsoluteCommand"/> quoted for /bin/sh.</summary>
    public static string ShellCommand => string.Join(' ', AbsoluteCommand.Select(a => "'" + a.Replace("'", "'\\''") + "'"));

    private static string DotnetPath =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Select(d => Path.Combine(d, "dotnet")).First(File.Exists);

    /// <summary>Waits until the CLI reports the mount as served.</summary>
    public void WaitForMounted(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + Patience.Of(timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (StdOut.Contains("mounted on")) return;
            if (_process.HasExited) throw new Xunit.Sdk.XunitException($"directfuse exited {_process.ExitCode} before mounting: {StdErr}{StdOut}");
            Thread.Sleep(50);
        }
        throw new TimeoutException($"directfuse did not mount in time: {StdErr}{StdOut}");
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(Patience.Of(timeout))) return false;
        _process.WaitForExit(); // flush the output readers
        return true;
    }

    /// <summary>
    /// Fails the test unless the process exits within <paramref name="timeout"/>; the failure shows what the
    /// server printed and where each of its threads waits in the kernel, so a hang can be diagnosed from a CI log.
    /// </summary>
    public void AssertExits(TimeSpan timeout, string after)
    {
        if (WaitForExit(timeout)) return;
        var threads = new StringBuilder();
        try
        {
            foreach (var task in Directory.GetDirectories($"/proc/{_process.Id}/task"))
            {
                string comm = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                string wchan = File.ReadAllText(Path.Combine(task, "wchan")).Trim();
                string syscall = File.ReadAllText(Path.Combine(task, "syscall")).Split(' ')[0];
                threads.AppendLine($"  {Path.GetFileName(task)} {comm}: wchan={wchan} syscall={syscall}");
            }
        }
        catch (IOException e)
        {
            threads.AppendLine("  (threads not readable: " + e.Message + ")");
        }
        throw new Xunit.Sdk.XunitException(
            $"directfuse did not exit within {timeout.TotalSeconds:0} s after {after}.\nstdout:\n{StdOut}stderr:\n{StdErr}threads:\n{threads}");
    }

    public void Signal(int signal) => Run.Process("kill", $"-{signal}", _process.Id.ToString()).EnsureSuccess("kill");

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Patience.Milliseconds(10_000));
        }
        _process.Dispose();
        if (_mountPoint is null) return;
        Mounts.ForceUnmount(_mountPoint);
        try
        {
            Directory.Delete(_mountPoint, recursive: false);
        }
        catch (IOException)
        {
            // A lazily detached mount may keep it busy for a moment; an empty temp dir is harmless.
        }
    }
}

/// <summary>Inspection and clean-up of mounts from outside the server.</summary>
public static class Mounts
{
    public static bool IsFuseMounted(string path) =>
        File.ReadAllLines("/proc/mounts").Any(l => l.Split(' ') is var f && f.Length > 2 && f[1] == path && f[2].StartsWith("fuse", StringComparison.Ordinal));

    public static bool WaitUntilUnmounted(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (!IsFuseMounted(path)) return true;
            Thread.Sleep(50);
        }
        return !IsFuseMounted(path);
    }

    /// <summary>Lazy unmount, whatever state the server is in.</summary>
    public static void ForceUnmount(string path)
    {
        for (int i = 0; i < 5 && IsFuseMounted(path); i++) Run.Process("umount", "-l", path);
    }
}
