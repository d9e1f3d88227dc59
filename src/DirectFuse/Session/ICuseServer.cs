using DirectFuse.LowLevel;

namespace DirectFuse.Session;

/// <summary>
/// What the engine needs from the server of a CUSE channel, beyond the ordinary file I/O of its
/// <see cref="LowLevelFileSystem"/>: the device's identity for the CUSE_INIT reply and unrestricted ioctls. The
/// CUSE layer supplies it in <see cref="FuseSessionCore.Cuse"/>; a session without one is a FUSE mount.
/// </summary>
internal interface ICuseServer
{
    /// <summary>The device number to ask for (0:0 lets the kernel pick a free major).</summary>
    uint DevMajor { get; }
    uint DevMinor { get; }

    /// <summary>Ask for CUSE_UNRESTRICTED_IOCTL: ioctls may name any memory of the caller (FUSE_IOCTL_RETRY).</summary>
    bool UnrestrictedIoctl { get; }

    /// <summary>The device info strings sent after <c>cuse_init_out</c>: each "KEY=value" followed by a NUL.</summary>
    byte[] DeviceInfoBytes();

    /// <summary>Called with the negotiated connection before CUSE_INIT is answered.</summary>
    void CuseInit(FuseConnection connection);

    /// <summary>An unrestricted IOCTL (first call: empty input and output; after a retry: the requested memory).</summary>
    ValueTask<Result<CuseIoctlReply>> UnrestrictedIoctlAsync(FuseContext context, FileHandle handle, uint command, ulong argument,
        ReadOnlyMemory<byte> input, Memory<byte> output, CancellationToken cancellationToken);
}

/// <summary>
/// The answer to an unrestricted ioctl: its return value and output length, or the caller's memory ranges
/// (address, length) to call again with, the <c>in</c> ranges copied into the input and the output copied back to the
/// <c>out</c> ranges (FUSE_IOCTL_RETRY).
/// </summary>
internal readonly record struct CuseIoctlReply(int Result, int OutLength, (ulong Address, ulong Length)[]? RetryIn = null, (ulong Address, ulong Length)[]? RetryOut = null)
{
    public bool IsRetry => RetryIn is not null || RetryOut is not null;
}
