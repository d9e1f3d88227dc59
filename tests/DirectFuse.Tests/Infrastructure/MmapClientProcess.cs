using System.Diagnostics;

namespace DirectFuse.Tests.Infrastructure;

/// <summary>Our own client program (tests/DirectFuse.MmapClient), driven one command at a time.</summary>
public sealed class MmapClientProcess : IDisposable
{
    private readonly Process _process;

    private MmapClientProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public static string DllPath => CliProcess.DllPath
        .Replace(Path.Combine("src", "DirectFuse.Cli"), Path.Combine("tests", "DirectFuse.MmapClient"))
        .Replace("directfuse.dll", "DirectFuse.MmapClient.dll");

    /// <summary>Starts the client, as root or (with <paramref name="asNobody"/>) as uid/gid 65534.</summary>
    public static MmapClientProcess Start(bool asNobody = false)
    {
        var psi = new ProcessStartInfo(asNobody ? "setpriv" : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (asNobody)
            foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet" })
                psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(DllPath);
        return new MmapClientProcess(Process.Start(psi) ?? throw new InvalidOperationException("could not start the mmap client"));
    }

    /// <summary>Sends one command and returns the reply line.</summary>
    public string Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(Patience.Seconds(30)))
            throw new TimeoutException($"the mmap client did not answer '{command}'");
        return line.Result ?? throw new Xunit.Sdk.XunitException($"the mmap client exited: {_process.StandardError.ReadToEnd()}");
    }

    /// <summary>Sends a command that must succeed; returns what follows "ok".</summary>
    public string Ok(string command)
    {
        string reply = Send(command);
        if (!reply.StartsWith("ok", StringComparison.Ordinal)) throw new Xunit.Sdk.XunitException($"'{command}' answered '{reply}'");
        return reply.Length > 3 ? reply[3..] : "";
    }

    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit(Patience.Milliseconds(10_000));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(Patience.Milliseconds(10_000));
        }
        _process.Dispose();
    }
}
