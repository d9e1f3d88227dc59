namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// The transport the real-mount tests ask for: /dev/fuse unless <c>DIRECTFUSE_TEST_TRANSPORT=io_uring</c>, which
/// makes <see cref="TempMount"/> and the CLI helpers request FUSE over io_uring, so that the whole suite can run
/// over either (scripts/test.sh runs it a second time that way where the kernel allows).
/// </summary>
public static class TestTransport
{
    /// <summary>True when the suite runs over io_uring.</summary>
    public static bool IoUring { get; } =
        string.Equals(Environment.GetEnvironmentVariable("DIRECTFUSE_TEST_TRANSPORT"), "io_uring", StringComparison.OrdinalIgnoreCase);
}
