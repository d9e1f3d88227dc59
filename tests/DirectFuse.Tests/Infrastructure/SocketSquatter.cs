using System.Diagnostics;

namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// A hostile local user (uid 65534) holding abstract Unix socket names, as an attacker would: a python process
/// that binds each name and, to whoever connects, sends a forged region report full of terminal escape
/// sequences, says nothing, or streams data without end. Dispose kills it.
/// </summary>
public sealed class SocketSquatter : IDisposable
{
    /// <summary>What the forged report shows in every string, so a test can tell whether it was believed.</summary>
    public const string Marker = "FORGED";

    private const string Script = """
        import json, os, socket, sys, threading, time
        forged = json.dumps({
            "mountPoint": "/FORGED\x1b]0;owned\x07\x1b[2J", "mode": "Passthrough",
            "modeReason": "FORGED \u202e reversed \x9b31m", "quota": 1, "reserved": 1, "resident": 1,
            "regions": [{"offset": 0, "size": 4096, "length": 4096, "resident": 4096, "shareKey": "uid:0\x1b[31mFORGED",
                         "clientOpens": 1, "serverHandles": 1, "label": "FORGED\x1b[8m"}]}).encode()
        held = []
        def answer(mode, conn):
            try:
                if mode == "forge":
                    conn.sendall(forged)
                    conn.close()
                elif mode == "silent":
                    held.append(conn)
                else:
                    chunk = b"[" * (1 << 20)
                    while True:
                        conn.sendall(chunk)
            except OSError:
                pass
        def serve(mode, listener):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=answer, args=(mode, conn), daemon=True).start()
        args = sys.argv[1:]
        if args[0] == "--hold-fuse":
            fuse = os.open("/dev/fuse", os.O_RDWR)
            args = args[1:]
        for arg in args:
            mode, name = arg.split(":", 1)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind("\0" + name)
            listener.listen(64)
            threading.Thread(target=serve, args=(mode, listener), daemon=True).start()
        print("ready", flush=True)
        sys.stdin.read()
        """;

    private readonly Process _process;

    private SocketSquatter(Process process) => _process = process;

    /// <summary>
    /// Binds each of <paramref name="names"/> (given as "forge:NAME", "silent:NAME" or "stream:NAME", NAME without
    /// the leading NUL) as uid 65534, with /dev/fuse open if <paramref name="holdFuseDevice"/>, and returns once all are bound.
    /// </summary>
    public static SocketSquatter Start(bool holdFuseDevice, IEnumerable<string> names)
    {
        var psi = new ProcessStartInfo("setpriv")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", Run.Python, "-c", Script }) psi.ArgumentList.Add(a);
        if (holdFuseDevice) psi.ArgumentList.Add("--hold-fuse");
        foreach (var n in names) psi.ArgumentList.Add(n);
        var squatter = new SocketSquatter(Process.Start(psi) ?? throw new InvalidOperationException("could not start the squatter"));
        var ready = squatter._process.StandardOutput.ReadLineAsync();
        if (!ready.Wait(Patience.Seconds(20)) || ready.Result != "ready")
        {
            squatter._process.Kill(entireProcessTree: true);
            string why = squatter._process.StandardError.ReadToEnd();
            squatter.Dispose();
            throw new Xunit.Sdk.XunitException("the squatter did not bind its names: " + why);
        }
        return squatter;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Patience.Milliseconds(10_000));
        }
        _process.Dispose();
    }
}
