using System.Diagnostics;

namespace DirectFuse.Tests.Infrastructure;

/// <summary>The outcome of a client process.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public ProcessResult EnsureSuccess(string what)
    {
        if (ExitCode != 0) throw new Xunit.Sdk.XunitException($"{what} exited {ExitCode}\nstdout: {StdOut}\nstderr: {StdErr}");
        return this;
    }
}

/// <summary>Runs real client programs against a mount, always with a time limit, killing the whole tree on timeout.</summary>
public static class Run
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Debian's python3: readable by every user, unlike interpreters under /root.</summary>
    public const string Python = "/usr/bin/python3";

    public static ProcessResult Process(string file, IEnumerable<string> args, TimeSpan? timeout = null, string? stdin = null, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            WorkingDirectory = workingDirectory ?? "/",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) psi.Environment[name] = value;
        using var p = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        // Limits are for a machine at full speed, stretched where it is slow (Patience).
        var limit = Patience.Of(timeout ?? DefaultTimeout);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {limit.TotalSeconds}s");
        }
        p.WaitForExit();
        return new ProcessResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static ProcessResult Process(string file, params string[] args) => Process(file, (IEnumerable<string>)args);

    /// <summary>Runs a shell command line (bash -c) in <paramref name="workingDirectory"/>.</summary>
    public static ProcessResult Shell(string command, string? workingDirectory = null, TimeSpan? timeout = null) =>
        Process("/bin/bash", ["-c", command], timeout, workingDirectory: workingDirectory);

    /// <summary>Runs a python3 script given as text, with extra arguments.</summary>
    public static ProcessResult PythonScript(string script, params string[] args) =>
        Process(Python, new[] { "-c", script }.Concat(args));

    /// <summary>Runs a command as user nobody (uid/gid 65534), as the brief prescribes for multi-user tests.</summary>
    public static ProcessResult AsNobody(string file, params string[] args) =>
        Process("setpriv", new[] { "--reuid=65534", "--regid=65534", "--clear-groups", file }.Concat(args));
}
