using System.Net.Sockets;
using System.Text;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// systemd integration without systemd: the test binds the notification socket itself (as the service manager
/// would) and reads what the server sends; and it plays the journal by naming the server's standard error in
/// JOURNAL_STREAM.
/// </summary>
public sealed class SystemdTests
{
    private const int SIGTERM = 15;

    /// <summary>A datagram socket like systemd's notification socket, at a path or (with '@') an abstract name.</summary>
    private sealed class NotifySocket : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        private readonly string? _path;

        public NotifySocket(bool abstractName)
        {
            string name = $"df-notify-{Guid.NewGuid():N}";
            if (abstractName)
            {
                _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
                Address = "@" + name;
            }
            else
            {
                _path = Path.Combine(Path.GetTempPath(), name + ".sock");
                _socket.Bind(new UnixDomainSocketEndPoint(_path));
                Address = _path;
            }
        }

        /// <summary>What NOTIFY_SOCKET says.</summary>
        public string Address { get; }

        public Dictionary<string, string?> Environment => new() { ["NOTIFY_SOCKET"] = Address };

        /// <summary>The next message's KEY=VALUE lines, or a failure after the timeout.</summary>
        public Dictionary<string, string> Receive(TimeSpan timeout)
        {
            _socket.ReceiveTimeout = (int)Patience.Of(timeout).TotalMilliseconds;
            var buffer = new byte[4096];
            int n;
            try
            {
                n = _socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
                throw new Xunit.Sdk.XunitException($"no notification within {timeout.TotalSeconds} s");
            }
            return Encoding.UTF8.GetString(buffer, 0, n).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        }

        public void Dispose()
        {
            _socket.Dispose();
            if (_path is not null) File.Delete(_path);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Foreground_server_notifies_ready_once_mounted_and_stopping_at_shutdown(bool abstractName)
    {
        using var notify = new NotifySocket(abstractName);
        using var mnt = new DaemonMountPoint();
        using var server = CliProcess.StartWithEnvironment(notify.Environment, null, "memfs", mnt.Path, "-f");
        var ready = notify.Receive(TimeSpan.FromSeconds(30));
        Assert.Equal("1", ready["READY"]);
        Assert.Equal($"Serving memfs on {mnt.Path}", ready["STATUS"]);
        // READY=1 comes after the mount is live.
        File.WriteAllText(mnt["f"], "ready means ready");
        Assert.Equal("ready means ready", File.ReadAllText(mnt["f"]));

        server.Signal(SIGTERM);
        var stopping = notify.Receive(TimeSpan.FromSeconds(20));
        Assert.Equal("1", stopping["STOPPING"]);
        Assert.StartsWith("SIGTERM received, unmounting", stopping["STATUS"]);
        server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
        Assert.Equal(0, server.ExitCode);
    }

    [Fact]
    public void Daemon_hands_over_its_pid_with_ready_and_says_stopping_when_unmounted()
    {
        using var notify = new NotifySocket(abstractName: false);
        using var mnt = new DaemonMountPoint();
        CliProcess.RunToEnd(notify.Environment, "shmfs", mnt.Path, "-o", "quota=16M").EnsureSuccess("shmfs daemon");
        var ready = notify.Receive(TimeSpan.FromSeconds(5));
        Assert.Equal("1", ready["READY"]);
        int daemon = Assert.Single(DaemonProcesses.WithArgument(mnt.Path));
        Assert.Equal(daemon.ToString(), ready["MAINPID"]);
        Assert.True(Mounts.IsFuseMounted(mnt.Path));

        Run.Process("umount", mnt.Path).EnsureSuccess("umount");
        var stopping = notify.Receive(TimeSpan.FromSeconds(20));
        Assert.Equal("1", stopping["STOPPING"]);
        Assert.True(DaemonProcesses.WaitUntilGone(mnt.Path, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Journal_lines_carry_a_syslog_priority_and_no_timestamp()
    {
        using var mnt = new DaemonMountPoint();
        // Standard output and error on one pipe, which JOURNAL_STREAM names: as under systemd with output to the journal.
        string script = $"exec 2>&1; export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1); "
            + $"env --default-signal {CliProcess.ShellCommand} memfs '{mnt.Path}' -d -o kernel_cache & pid=$!; "
            + $"for i in $(seq 300); do grep -q ' {mnt.Path} ' /proc/mounts && break; sleep 0.1; done; "
            + $"stat '{mnt.Path}/missing' >/dev/null 2>&1; kill -TERM $pid; wait $pid";
        var result = Run.Shell(script, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(0, result.ExitCode);
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Matches(@"^<[3-7]>", l));
        Assert.Contains(lines, l => l.StartsWith("<4>directfuse: -o kernel_cache ignored", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("<6>directfuse: memfs mounted on", StringComparison.Ordinal));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^<6>DirectFuse\[\d+\] unique=\d+ LOOKUP nodeid=1 uid=0 pid=\d+ -> -ENOENT$"));
        Assert.DoesNotContain(lines, l => l.Contains("\u001b["));
    }

    [Fact]
    public void A_daemon_started_with_its_errors_on_the_journal_logs_there()
    {
        using var mnt = new DaemonMountPoint();
        string log = Path.Combine(Path.GetTempPath(), $"df-journal-{Guid.NewGuid():N}.log");
        try
        {
            // The starting command's standard error is the "journal" (a file JOURNAL_STREAM names, as systemd's
            // socket would be): the relayed note keeps its priority, and the daemon goes on writing there.
            string script = $"exec 2>'{log}'; export JOURNAL_STREAM=$(stat -c %d:%i '{log}'); "
                + $"{CliProcess.ShellCommand} memfs '{mnt.Path}' -o kernel_cache || exit 9; echo x > '{mnt.Path}/f' && umount '{mnt.Path}'";
            Run.Shell(script, timeout: TimeSpan.FromSeconds(60)).EnsureSuccess("daemon with its errors on the journal");
            Assert.True(DaemonProcesses.WaitUntilGone(mnt.Path, TimeSpan.FromSeconds(10)));
            var lines = File.ReadAllLines(log);
            Assert.All(lines, l => Assert.Matches(@"^<[3-7]>", l));
            Assert.Contains(lines, l => l.StartsWith("<4>directfuse: -o kernel_cache ignored:", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith($"<6>directfuse: memfs mounted on {mnt.Path}", StringComparison.Ordinal));
            Assert.Contains("<6>directfuse: unmounted", lines);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public void A_stream_other_than_the_journals_gets_plain_lines()
    {
        // JOURNAL_STREAM set, but standard error is another pipe (redirected since): no priorities.
        var result = CliProcess.RunToEnd(new Dictionary<string, string?> { ["JOURNAL_STREAM"] = "1:1" }, "mount", "memfs", "/nonexistent/df-mnt");
        Assert.Equal("directfuse: mount point '/nonexistent/df-mnt' does not exist", result.StdErr.Trim());
    }
}
