using DirectFuse.Devices;
using DirectFuse.LowLevel;

namespace DirectFuse.Cuse;

/// <summary>What the dispatcher needs from a file system that serves a CUSE channel.</summary>
internal interface ICuseServer
{
    CuseDeviceInfo DeviceInfo { get; }

    /// <summary>Called with the negotiated connection before CUSE_INIT is answered.</summary>
    void CuseInit(FuseConnection connection);

    /// <summary>An unrestricted IOCTL (first call: empty input and output; after a retry: the requested memory).</summary>
    ValueTask<Result<IoctlResult>> UnrestrictedIoctlAsync(FuseContext context, FileHandle handle, uint command, ulong argument,
        ReadOnlyMemory<byte> input, Memory<byte> output, CancellationToken cancellationToken);
}
