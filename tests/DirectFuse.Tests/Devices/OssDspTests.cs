using System.Diagnostics;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.OssDsp;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Devices;

/// <summary>
/// The ossdsp example on a real FUSE mount (a regular file whose root node is the device) with real OSS
/// clients: a Quake-style mmap client in python3, sox's OSS driver, non-blocking writers, poll(2), and a
/// client killed in the middle of playback.
/// </summary>
public sealed class OssDspTests
{
    private const string Prelude = """
        import errno, fcntl, os, select, struct, sys, time
        RESET, SPEED, SETFMT, CHANNELS, GETOSPACE = 0x00005000, 0xC0045002, 0xC0045005, 0xC0045006, 0x8010500C
        def ioctl_int(fd, cmd, value):
            buf = bytearray(struct.pack('i', value))
            fcntl.ioctl(fd, cmd, buf, True)
            return struct.unpack('i', buf)[0]
        def setup(fd, fmt, channels, rate):
            assert ioctl_int(fd, SETFMT, fmt) == fmt
            assert ioctl_int(fd, CHANNELS, channels) == channels
            assert ioctl_int(fd, SPEED, rate) == rate
            info = bytearray(16)
            fcntl.ioctl(fd, GETOSPACE, info, True)
            return struct.unpack('4i', info)
        def open_retrying(path, flags):
            # OSS devices are exclusive; the previous client's release may still be on its way.
            deadline = time.time() + 10
            while True:
                try:
                    return os.open(path, flags)
                except OSError as e:
                    if e.errno != errno.EBUSY or time.time() > deadline: raise
                    time.sleep(0.02)

        """;

    [Fact]
    public void Ioctl_numbers_are_those_of_linux_soundcard_h()
    {
        // Values printed by a C program including Debian's <linux/soundcard.h>.
        (DirectFuse.Devices.IoctlCommand Cmd, uint Expected)[] table =
        [
            (Oss.Reset, 0x00005000), (Oss.Sync, 0x00005001), (Oss.Speed, 0xC0045002), (Oss.Stereo, 0xC0045003),
            (Oss.GetBlkSize, 0xC0045004), (Oss.SetFmt, 0xC0045005), (Oss.Channels, 0xC0045006), (Oss.Post, 0x00005008),
            (Oss.SetFragment, 0xC004500A), (Oss.GetFmts, 0x8004500B), (Oss.GetOSpace, 0x8010500C), (Oss.GetISpace, 0x8010500D),
            (Oss.NonBlock, 0x0000500E), (Oss.GetCaps, 0x8004500F), (Oss.GetTrigger, 0x80045010), (Oss.SetTrigger, 0x40045010),
            (Oss.GetIPtr, 0x800C5011), (Oss.GetOPtr, 0x800C5012), (Oss.GetODelay, 0x80045017),
        ];
        foreach (var (cmd, expected) in table) Assert.Equal(expected, cmd.Value);
    }

    [Theory]
    [InlineData(DirectMmapMode.PageCache)]
    [InlineData(DirectMmapMode.Passthrough)]
    public void Quake_style_mmap_client_is_heard_exactly(DirectMmapMode mode)
    {
        using var m = OssDspMount.Create(mode);
        const int Rate = 22050, Frames = 22050; // one second of stereo S16_LE
        if (!KernelFeatures.DirectIoAllowMmap)
        {
            // Before 6.6 the kernel cannot map a direct-I/O file shared (nor pass through, before 6.9): the host
            // says so at start and serves mapping opens from the page cache without direct I/O instead.
            Assert.Equal(DirectMmapMode.PageCache, m.Host.MmapMode);
            Assert.Contains("FUSE_DIRECT_IO_ALLOW_MMAP", m.Host.MmapModeReason);
        }
        else Assert.Equal(mode, m.Host.MmapMode);
        var result = Run.PythonScript(OssClients.QuakeMmap, m.DevicePath, Rate.ToString(), Frames.ToString()).EnsureSuccess("the Quake-style client");
        var fields = result.StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Rate.ToString(), fields[0]);
        Assert.True(WaitForRelease(m), "the device was not released");
        var (rate, channels, bits, data) = m.ReadWav();
        Assert.Equal((Rate, 2, 16), (rate, channels, bits));
        var signal = OssClients.QuakeSignal(Frames);
        Assert.True(data.Length >= signal.Length, $"the WAV holds {data.Length} bytes, the client played {signal.Length}");
        int firstDifference = data.AsSpan(0, signal.Length).CommonPrefixLength(signal);
        Assert.True(firstDifference == signal.Length, $"the WAV differs from the signal at byte {firstDifference} of {signal.Length}");
        // After the signal the client painted silence up to its last position; past that the ring plays on
        // until the close reaches the device, repeating older data as a looping DMA buffer does.
        int painted = int.Parse(fields[5]);
        int silent = Math.Min(data.Length, painted) - signal.Length;
        int loud = data.AsSpan(signal.Length, silent).IndexOfAnyExcept((byte)0);
        Assert.True(loud < 0, $"non-silence {loud} bytes after the signal, before the client's last painted byte {painted}");
    }

    [Fact]
    public void Sox_through_its_oss_driver_is_bit_exact()
    {
        using var m = OssDspMount.Create();
        string input = Path.Combine(Path.GetDirectoryName(m.WavPath)!, "in.wav");
        Run.Process("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", input, "synth", "0.4", "whitenoise", "vol", "0.5").EnsureSuccess("sox synth");
        var sw = Stopwatch.StartNew();
        Run.Process("sox", "-q", input, "-t", "oss", m.DevicePath).EnsureSuccess("sox -t oss");
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(0.3), $"0.4 s of audio played in {sw.Elapsed.TotalSeconds:0.000} s: not paced in real time");
        Assert.True(WaitForRelease(m), "the device was not released");
        var (rate, channels, bits, data) = m.ReadWav();
        Assert.Equal((44100, 2, 16), (rate, channels, bits));
        Assert.Equal(WavData(input), data);
    }

    [Fact]
    // Paced by real-time playback between two system calls: under emulation the client is too slow for it.
    [Trait("Timing", "RealTime")]
    public void Non_blocking_writer_gets_EAGAIN_when_the_buffer_is_full_and_poll_wakes_it_when_a_fragment_drains()
    {
        using var m = OssDspMount.Create();
        // 8 kHz mono U8 with 16 KiB fragments: one fragment drains in about two seconds, so the second write
        // finds the buffer still full even where the client runs slowly (an emulated kernel).
        const string script = Prelude + """
            fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
            ioctl_int(fd, 0xC004500A, (4 << 16) | 14)
            fragments, fragstotal, fragsize, free = setup(fd, 0x08, 1, 8000)
            n = os.write(fd, b'\x80' * (2 * fragstotal * fragsize))
            try:
                os.write(fd, b'\x80' * 16)
                print('no-eagain', n, fragstotal * fragsize)
            except BlockingIOError as e:
                print('eagain', n, fragstotal * fragsize, e.errno)
            p = select.poll()
            p.register(fd, select.POLLOUT)
            t = time.time()
            events = p.poll(5000)
            print('poll', events[0][1] if events else 0, time.time() - t)
            print('wrote', os.write(fd, b'\x80' * fragsize))
            fcntl.ioctl(fd, RESET, 0)
            os.close(fd)
            """;
        var lines = Run.PythonScript(script, m.DevicePath).EnsureSuccess("the non-blocking client").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        Assert.Equal("eagain", first[0]);
        Assert.Equal(first[2], first[1]); // the first write took exactly the free buffer
        Assert.Equal("11", first[3]);
        var poll = lines[1].Split(' ');
        Assert.Equal("poll", poll[0]);
        Assert.True((int.Parse(poll[1]) & 4) != 0, $"poll returned events {poll[1]}, not POLLOUT");
        double waited = double.Parse(poll[2], System.Globalization.CultureInfo.InvariantCulture);
        // It really blocked (a fragment takes ~2 s to drain) and NOTIFY_POLL woke it before the 5 s timeout.
        Assert.InRange(waited, 0.2, 4.5);
        Assert.Equal($"wrote {16 * 1024}", lines[2]);
    }

    [Fact]
    public void A_blocking_write_interrupted_by_a_signal_returns_promptly()
    {
        using var m = OssDspMount.Create();
        // 8 kHz mono U8 drains 8 KiB a second: a write of 40 KiB past a full buffer would block for seconds.
        const string script = Prelude + """
            import signal
            class Alarm(Exception): pass
            def on_alarm(signum, frame): raise Alarm()
            signal.signal(signal.SIGALRM, on_alarm)
            fd = os.open(sys.argv[1], os.O_WRONLY)
            fragments, fragstotal, fragsize, free = setup(fd, 0x08, 1, 8000)
            os.write(fd, b'\x80' * (fragstotal * fragsize))
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            t = time.time()
            try:
                n = os.write(fd, b'\x80' * 40960)
                print('partial', n, round(time.time() - t, 2))
            except Alarm:
                print('interrupted', 0, round(time.time() - t, 2))
            signal.setitimer(signal.ITIMER_REAL, 0)
            fcntl.ioctl(fd, RESET, 0)
            os.close(fd)
            """;
        var parts = Run.PythonScript(script, m.DevicePath).EnsureSuccess("interrupted writer").StdOut.Trim().Split(' ');
        // The kernel sends INTERRUPT; the device stops waiting: EINTR, or the bytes it took before the signal.
        Assert.Contains(parts[0], new[] { "partial", "interrupted" });
        Assert.True(int.Parse(parts[1]) < 40960, $"the whole write was accepted ({parts[1]} bytes): it was not interrupted");
        Assert.True(double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) < 3.0, $"the write took {parts[2]} s after the signal");
    }

    [Fact]
    // Paced by real-time playback between two system calls, like the non-blocking writer test: host only.
    [Trait("Timing", "RealTime")]
    public void O_NONBLOCK_set_with_fcntl_after_open_is_honoured()
    {
        using var m = OssDspMount.Create();
        const string script = Prelude + """
            fd = os.open(sys.argv[1], os.O_WRONLY)
            fragments, fragstotal, fragsize, free = setup(fd, 0x08, 1, 8000)
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
            os.write(fd, b'\x80' * (2 * fragstotal * fragsize))
            try:
                os.write(fd, b'\x80' * 16)
                print('blocked-or-accepted')
            except BlockingIOError as e:
                print('eagain', e.errno)
            fcntl.ioctl(fd, RESET, 0)
            os.close(fd)
            """;
        Assert.Equal("eagain 11", Run.PythonScript(script, m.DevicePath).EnsureSuccess("fcntl client").StdOut.Trim());
    }

    [Fact]
    public void A_client_killed_mid_playback_leaves_the_device_usable()
    {
        using var m = OssDspMount.Create();
        const string victim = Prelude + """
            fd = os.open(sys.argv[1], os.O_WRONLY)
            setup(fd, 0x08, 1, 48000)
            print('playing', flush=True)
            os.write(fd, b'\x10' * 480000)  # ten seconds: blocks until killed
            """;
        var psi = new ProcessStartInfo(Run.Python) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", victim, m.DevicePath }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            try
            {
                Assert.Equal("playing", p.StandardOutput.ReadLine());
                Thread.Sleep(500);
                Assert.False(p.HasExited, "the writer did not block");
            }
            finally
            {
                p.Kill();
                p.WaitForExit(Patience.Milliseconds(10_000));
            }
        }
        const string next = Prelude + """
            fd = open_retrying(sys.argv[1], os.O_WRONLY)
            setup(fd, 0x08, 1, 48000)
            os.write(fd, bytes(range(256)) * 48)
            os.close(fd)  # drains
            print('done')
            """;
        var sw = Stopwatch.StartNew();
        Assert.Equal("done", Run.PythonScript(next, m.DevicePath).EnsureSuccess("the next client").StdOut.Trim());
        Assert.True(sw.Elapsed < Patience.Seconds(10), $"the next client took {sw.Elapsed}");
        Assert.True(WaitForRelease(m), "the device was not released");
        var (_, _, _, data) = m.ReadWav();
        var expected = Enumerable.Repeat(Enumerable.Range(0, 256).Select(i => (byte)i), 48).SelectMany(b => b).ToArray();
        Assert.True(data.Length > expected.Length, "nothing of the killed client was played");
        Assert.Equal(expected, data[^expected.Length..]);
        Assert.True(data.AsSpan(0, data.Length - expected.Length).IndexOfAnyExcept((byte)0x10) < 0, "the killed client's data is mixed with something else");
    }

    [Fact]
    public void Unknown_ioctl_is_ENOTTY()
    {
        using var m = OssDspMount.Create();
        const string script = """
            import fcntl, os, sys
            fd = os.open(sys.argv[1], os.O_WRONLY)
            try:
                fcntl.ioctl(fd, 0x80045063, bytearray(4), True)  # _IOR('P', 99, int)
                print('ok')
            except OSError as e:
                print(e.errno)
            """;
        Assert.Equal("25", Run.PythonScript(script, m.DevicePath).EnsureSuccess("ioctl client").StdOut.Trim());
    }

    [Fact]
    public void Cli_ossdsp_creates_the_device_file_and_finishes_the_wav_on_exit()
    {
        string dir = Directory.CreateTempSubdirectory("df-dsp-cli-").FullName;
        string device = Path.Combine(dir, "dsp"), wav = Path.Combine(dir, "out.wav"), input = Path.Combine(dir, "in.wav");
        try
        {
            Run.Process("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", input, "synth", "0.3", "sine", "440").EnsureSuccess("sox synth");
            using (var server = CliProcess.Start(null, "mount", "ossdsp", device, "--wav", wav))
            {
                try
                {
                    server.WaitForMounted();
                    Assert.True(File.Exists(device));
                    Run.Process("sox", "-q", input, "-t", "oss", device).EnsureSuccess("sox -t oss");
                    server.Signal(15);
                    server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
                    Assert.Equal(0, server.ExitCode);
                }
                finally
                {
                    Mounts.ForceUnmount(device);
                }
            }
            Assert.Equal(File.ReadAllBytes(input), File.ReadAllBytes(wav));
        }
        finally
        {
            Mounts.ForceUnmount(device);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>RELEASE arrives asynchronously after the client's last close; wait for it (and the final drain).</summary>
    private static bool WaitForRelease(OssDspMount m)
    {
        var deadline = DateTime.UtcNow + Patience.Seconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (!m.Device.IsOpen) return true;
            Thread.Sleep(20);
        }
        return false;
    }

    private static byte[] WavData(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int at = 12;
        while (at + 8 <= bytes.Length)
        {
            int size = BitConverter.ToInt32(bytes, at + 4);
            if (bytes.AsSpan(at, 4).SequenceEqual("data"u8)) return bytes[(at + 8)..(at + 8 + size)];
            at += 8 + size + (size & 1);
        }
        throw new InvalidDataException($"{path} has no data chunk");
    }
}
