namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// How long the tests wait for things that take time only on a slow machine (a server starting, a process
/// exiting). Under emulation (scripts/kernel-matrix.sh runs the suite under qemu without KVM, 15-60 times
/// slower) the waits are stretched by DIRECTFUSE_TEST_PATIENCE, a factor; what a test asserts stays the same.
/// </summary>
public static class Patience
{
    public static readonly double Factor =
        double.TryParse(Environment.GetEnvironmentVariable("DIRECTFUSE_TEST_PATIENCE"), System.Globalization.CultureInfo.InvariantCulture, out double f) && f >= 1 ? f : 1;

    /// <summary><paramref name="wait"/>, stretched on a slow machine.</summary>
    public static TimeSpan Of(TimeSpan wait) => wait * Factor;

    public static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds * Factor);

    public static int Milliseconds(int milliseconds) => (int)Math.Min(int.MaxValue, milliseconds * Factor);
}
