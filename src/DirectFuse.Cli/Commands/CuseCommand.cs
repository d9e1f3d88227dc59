using System.CommandLine;
using System.Text.RegularExpressions;
using DirectFuse.Cuse;
using DirectFuse.Examples.OssDsp;
using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary>
/// <c>directfuse cuse ossdsp NAME --wav FILE</c>: the OSS device as a real character device, /dev/NAME, through
/// CUSE (kernels with CONFIG_CUSE: Debian's have it as a module). Unlike a FUSE file node it needs no mount
/// point and unmodified programs find it where they look; it has no mmap (CUSE never had it).
/// </summary>
internal static partial class CuseCommand
{
    public static Command Create()
    {
        var cuse = new Command("cuse", "Serve a character device through /dev/cuse, as a real /dev node, until interrupted");
        cuse.Add(OssDsp());
        return cuse;
    }

    private static Command OssDsp()
    {
        var name = new Argument<string>("NAME") { Description = "The device's name: it appears as /dev/NAME (e.g. dsp)" };
        var wav = new Option<string>("--wav") { Description = "The WAV file that receives what is played", Required = true };
        var command = new Command("ossdsp", "An OSS playback device (/dev/NAME) whose output goes to a WAV file") { name, wav };
        command.SetAction(result =>
        {
            string device = result.GetRequiredValue(name);
            if (!DeviceName().IsMatch(device))
                return MountRunner.Fail($"'{TerminalText.Escape(device)}' is not a device name (letters, digits, '-', '_' and '.', at most 64, no '/')");
            if (!CuseSession.IsAvailable)
                return MountRunner.Fail("this kernel has no CUSE (/dev/cuse is missing: modprobe cuse, or a kernel with CONFIG_CUSE)");
            if (File.Exists("/dev/" + device))
                return MountRunner.Fail($"/dev/{device} exists already");
            using var signals = new ShutdownSignals();
            using var sink = new WavSink(Path.GetFullPath(result.GetRequiredValue(wav)));
            using var dsp = new OssDspDevice(sink, mmap: false);
            // Warnings and errors (a failing handler) on standard error, as for a mount.
            using var loggerFactory = new Output.CliLoggerFactory(Microsoft.Extensions.Logging.LogLevel.Warning);
            CuseSession session;
            try
            {
                session = CuseSession.Start(dsp, new CuseDeviceInfo(device), new FuseSessionOptions { LoggerFactory = loggerFactory });
            }
            catch (MountException e)
            {
                return MountRunner.Fail(e.Message);
            }
            using (session)
            {
                Output.CliOutput.Say($"directfuse: ossdsp is {session.DevicePath} (CUSE, kernel protocol {session.Connection.KernelMajor}.{session.Connection.KernelMinor}), wav: {result.GetValue(wav)}");
                Output.CliOutput.Say("directfuse: serving until interrupted");
                WaitHandle.WaitAny([signals.WaitHandle, ((IAsyncResult)session.Completion).AsyncWaitHandle]);
                Output.CliOutput.Say(signals.Received ? $"directfuse: {signals.Name}, removing {session.DevicePath}" : $"directfuse: {session.Completion.Result}");
            }
            return 0; // the WAV header is final once the sink is disposed
        });
        return command;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex DeviceName();
}
