using DirectFuse.Cuse;
using DirectFuse.Examples.OssDsp;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cuse;

/// <summary>
/// A fact that runs only where the kernel has CUSE. The skip is decided when the tests are discovered, so
/// the runner (and the TRX summary) reports it as skipped with the reason, not as passed.
/// </summary>
public sealed class CuseFactAttribute : FactAttribute
{
    public CuseFactAttribute()
    {
        if (!CuseSession.IsAvailable)
            Skip = "this kernel has no CUSE (/dev/cuse is missing: CONFIG_CUSE is not set or the cuse module is not loaded)";
    }
}

/// <summary>The ossdsp device as a real /dev character device through /dev/cuse.</summary>
public sealed class CuseDeviceTests
{
    [CuseFact]
    public void Sox_plays_through_a_cuse_dsp_bit_exactly()
    {
        string dir = Directory.CreateTempSubdirectory("df-cuse-").FullName;
        string wav = Path.Combine(dir, "out.wav"), input = Path.Combine(dir, "in.wav");
        try
        {
            Run.Process("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", input, "synth", "0.3", "sine", "440").EnsureSuccess("sox synth");
            using var sink = new WavSink(wav);
            using (var device = new OssDspDevice(sink, mmap: false))
            using (var session = CuseSession.Start(device, new CuseDeviceInfo($"directfuse-test-dsp-{Environment.ProcessId}")))
            {
                var deadline = DateTime.UtcNow + Patience.Seconds(5);
                while (!File.Exists(session.DevicePath) && DateTime.UtcNow < deadline) Thread.Sleep(20);
                Assert.True(File.Exists(session.DevicePath), $"{session.DevicePath} did not appear");
                Run.Process("sox", "-q", input, "-t", "oss", session.DevicePath).EnsureSuccess("sox -t oss");
                deadline = DateTime.UtcNow + Patience.Seconds(5);
                while (device.IsOpen && DateTime.UtcNow < deadline) Thread.Sleep(20);
            }
            sink.Dispose();
            Assert.Equal(File.ReadAllBytes(input), File.ReadAllBytes(wav));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
