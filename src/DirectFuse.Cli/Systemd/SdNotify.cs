using System.Net.Sockets;
using System.Text;
using DirectFuse.Cli.Output;

namespace DirectFuse.Cli.Systemd;

/// <summary>
/// sd_notify(3) without libsystemd: one datagram of <c>KEY=VALUE</c> lines to the unix socket that
/// <c>NOTIFY_SOCKET</c> names (a path, or an abstract name written with a leading '@'). Without the variable
/// nothing is sent: the server does not run under a service manager that listens.
/// </summary>
internal static class SdNotify
{
    public const string Variable = "NOTIFY_SOCKET";
    private static int s_warned;

    /// <summary>True when a service manager waits for notifications.</summary>
    public static bool IsActive => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable));

    /// <summary>
    /// Sends <paramref name="lines"/> (e.g. <c>READY=1</c>, <c>STATUS=...</c>) as one message. Returns false when
    /// there is no socket or sending failed (said once on standard error: a Type=notify service would otherwise
    /// time out with no clue).
    /// </summary>
    public static bool Send(params string[] lines)
    {
        string? socket = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(socket)) return false;
        string path = socket[0] switch
        {
            '@' => "\0" + socket[1..], // Linux's abstract namespace
            '/' => socket,
            _ => "",
        };
        if (path.Length < 2)
        {
            WarnOnce($"{Variable}='{TerminalText.Escape(socket)}' is not a unix socket path or @abstract name; nothing sent");
            return false;
        }
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            s.SendTo(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e)
        {
            WarnOnce($"cannot notify the service manager at {TerminalText.Escape(socket)}: {e.Message}");
            return false;
        }
    }

    /// <summary>A <c>STATUS=</c> line: one line of text, as systemctl status shows it.</summary>
    public static string Status(string text) => "STATUS=" + text.Replace('\n', ' ');

    private static void WarnOnce(string message)
    {
        if (Interlocked.Exchange(ref s_warned, 1) == 0) CliOutput.Warn("directfuse: warning: " + message);
    }
}
