using System.Text;
using DirectFuse.Cli.Interop;
using DirectFuse.Cli.Output;
using DirectFuse.Cli.Systemd;
using DirectFuse.Session;

namespace DirectFuse.Cli.Daemon;

/// <summary>
/// Daemon mode as libfuse's fuse_daemonize does it, without fork: the command starts itself again in the
/// background (<see cref="Spawn"/>) with a pipe as the new process's standard error, relays what arrives there,
/// and returns 0 once the ready byte says the kernel's INIT was answered, or the daemon's exit status (with its
/// messages) when it ended before. mount(8) waits for exactly this: it runs mount.fuse3, which runs this command,
/// and returns when it exits.
/// </summary>
internal static class Daemonizer
{
    /// <summary>Seconds to wait for the daemon instead of 60, for very slow machines (emulation).</summary>
    public const string ReadyTimeoutVariable = "DIRECTFUSE_READY_TIMEOUT";

    /// <summary>
    /// The longest wait for the daemon: its own limits end it well before (INIT is waited for 10 s after the mount),
    /// so this only fires for a daemon that hangs (say, on a mount point whose own server is stuck), which is then
    /// stopped rather than left half started. 60 s, or <see cref="ReadyTimeoutVariable"/> seconds.
    /// </summary>
    public static TimeSpan ReadyTimeout =>
        double.TryParse(System.Environment.GetEnvironmentVariable(ReadyTimeoutVariable), System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromSeconds(60);

    /// <summary>After SIGTERM to a daemon that did not become ready: its shutdown is bounded by 9 s (MountRunner).</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(12);

    /// <summary>Starts the daemon with <paramref name="args"/> (this command's own) and waits until it serves <paramref name="description"/>.</summary>
    public static unsafe int Run(IReadOnlyList<string> args, string description)
    {
        if (ProgramPath.Command() is not { } program)
            return MountRunner.Fail("cannot find this program's executable to start the daemon; use -f to serve in the foreground");
        EnsureStandardFds();
        KeepOnlyTheDeviceFd(args);
        int* pipe = stackalloc int[2];
        if (Native.pipe2(pipe, Native.O_CLOEXEC) != 0)
            return MountRunner.Fail($"cannot create the readiness pipe: {new Errno(Native.LastErrno)}");
        int readEnd = pipe[0], writeEnd = pipe[1];
        int pid;
        try
        {
            // Under systemd with output to the journal, the daemon logs there; otherwise to /dev/null, as libfuse's do.
            int stdoutFd = CliOutput.ErrorIsJournal ? 2 : -1;
            pid = Spawn.Start([.. program, .. args], Environment(), stdoutFd, writeEnd);
        }
        catch (IOException e)
        {
            Native.close(readEnd);
            return MountRunner.Fail($"cannot start the daemon: {e.Message}");
        }
        finally
        {
            Native.close(writeEnd);
        }
        try
        {
            return Wait(pid, readEnd, description);
        }
        finally
        {
            Native.close(readEnd);
        }
    }

    private static int Wait(int pid, int readEnd, string description)
    {
        var relay = new LineRelay();
        var outcome = Relay(readEnd, relay, DateTime.UtcNow + ReadyTimeout);
        if (outcome == Outcome.Ready)
        {
            relay.Flush();
            // The daemon is the service's main process from now on; it says STOPPING=1 itself when it ends.
            SdNotify.Send($"MAINPID={pid}", "READY=1", SdNotify.Status($"Serving {description}"));
            return 0;
        }
        if (outcome == Outcome.TimedOut)
        {
            relay.Flush();
            CliOutput.Fail($"directfuse: the daemon did not report {description} ready within {ReadyTimeout.TotalSeconds:0} s; stopping it");
            Native.kill(pid, Native.SIGTERM);
            if (Relay(readEnd, relay, DateTime.UtcNow + StopTimeout) == Outcome.TimedOut)
            {
                // Still stuck (in a system call on a hung file system, say): SIGKILL ends even that.
                Native.kill(pid, Native.SIGKILL);
                relay.Flush();
                CliOutput.Fail($"directfuse: the daemon did not stop within {StopTimeout.TotalSeconds:0} s of SIGTERM; killed it");
            }
            relay.Flush();
            Reap(pid);
            return 1;
        }
        relay.Flush();
        int status = Reap(pid);
        if (status != 0 && relay.Lines > 0) return status;
        CliOutput.Fail(status switch
        {
            0 => $"directfuse: the daemon exited before {description} was ready",
            > 128 => $"directfuse: the daemon was killed by signal {status - 128} before {description} was ready",
            _ => $"directfuse: the daemon exited with status {status} before {description} was ready",
        });
        return status == 0 ? 1 : status;
    }

    private enum Outcome { Ready, Ended, TimedOut }

    /// <summary>Copies the daemon's messages until the ready byte, the end of the pipe, or <paramref name="deadline"/>.</summary>
    private static unsafe Outcome Relay(int readEnd, LineRelay relay, DateTime deadline)
    {
        byte* buffer = stackalloc byte[4096];
        while (true)
        {
            int ms = (int)Math.Ceiling((deadline - DateTime.UtcNow).TotalMilliseconds);
            if (ms <= 0) return Outcome.TimedOut;
            var fd = new Native.PollFd { Fd = readEnd, Events = Native.POLLIN };
            int ready = Native.poll(&fd, 1, ms);
            if (ready < 0 && Native.LastErrno == Native.EINTR) continue;
            if (ready == 0) continue;
            nint n = Native.read(readEnd, buffer, 4096);
            if (n < 0 && Native.LastErrno is Native.EINTR or Native.EAGAIN) continue;
            if (n <= 0) return Outcome.Ended;
            var bytes = new ReadOnlySpan<byte>(buffer, (int)n);
            int end = bytes.IndexOf(DaemonChild.ReadyByte);
            relay.Add(end < 0 ? bytes : bytes[..end]);
            if (end >= 0) return Outcome.Ready;
        }
    }

    /// <summary>The daemon's exit status (128 + signal for a signal), waiting a little for it to end; 1 if unknown.</summary>
    private static unsafe int Reap(int pid)
    {
        var deadline = DateTime.UtcNow + StopTimeout;
        while (true)
        {
            int status;
            int r = Native.waitpid(pid, &status, 1 /* WNOHANG */);
            if (r == pid) return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            if (r < 0 && Native.LastErrno != Native.EINTR) return 1;
            if (DateTime.UtcNow > deadline) return 1;
            Thread.Sleep(10);
        }
    }

    /// <summary>This process's environment and the marker that makes the new process the daemon.</summary>
    private static List<string> Environment()
    {
        var environment = new List<string>();
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            if ((string)e.Key != DaemonChild.Variable) environment.Add($"{e.Key}={e.Value}");
        environment.Add($"{DaemonChild.Variable}=1");
        return environment;
    }

    /// <summary>Opens /dev/null on 0, 1 and 2 if any is closed, so that the pipe never lands on one of them.</summary>
    private static void EnsureStandardFds()
    {
        while (Native.fcntl(0, Native.F_GETFD, 0) < 0 || Native.fcntl(1, Native.F_GETFD, 0) < 0 || Native.fcntl(2, Native.F_GETFD, 0) < 0)
        {
            int fd = Native.open("/dev/null", Native.O_RDWR, 0);
            if (fd < 0) return;
            if (fd > 2)
            {
                Native.close(fd);
                return;
            }
        }
    }

    /// <summary>
    /// Marks every inherited descriptor but 0-2 and a /dev/fd/N mount point close-on-exec: the daemon lives on
    /// after its caller, and an inherited pipe or lock of that caller (mount(8), a script's command substitution)
    /// held open by it could keep the caller waiting forever.
    /// </summary>
    private static void KeepOnlyTheDeviceFd(IReadOnlyList<string> args)
    {
        int keep = args.Select(a => FuseMounts.TryParseDeviceFd(a, out int fd) ? fd : -1).FirstOrDefault(fd => fd >= 0, -1);
        foreach (int fd in Native.DescriptorsAboveStandardError())
        {
            if (fd == keep) continue;
            int flags = Native.fcntl(fd, Native.F_GETFD, 0);
            if (flags >= 0 && (flags & Native.FD_CLOEXEC) == 0) Native.fcntl(fd, Native.F_SETFD, flags | Native.FD_CLOEXEC);
        }
    }

    /// <summary>The daemon's journal-style lines, written one by one as our own standard error lines.</summary>
    private sealed class LineRelay
    {
        private readonly List<byte> _partial = [];

        public int Lines { get; private set; }

        public void Add(ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes)
            {
                if (b == (byte)'\n') Emit();
                else _partial.Add(b);
            }
        }

        public void Flush()
        {
            if (_partial.Count > 0) Emit();
        }

        private void Emit()
        {
            CliOutput.Relay(Encoding.UTF8.GetString([.. _partial]));
            _partial.Clear();
            Lines++;
        }
    }
}
