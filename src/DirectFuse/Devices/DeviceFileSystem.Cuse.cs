using DirectFuse.DirectMmap;
using DirectFuse.LowLevel;

namespace DirectFuse.Devices;

// The device host on a CUSE channel (the CUSE layer's CuseDeviceServer drives it): the same OPEN/READ/WRITE/
// FLUSH/RELEASE/POLL handling, plus unrestricted ioctls. CUSE files have no attributes and no mmap.
public sealed partial class DeviceFileSystem
{
    /// <summary>A host for a CUSE channel: opens name node 0 and nothing is ever mapped.</summary>
    internal static DeviceFileSystem ForCuseChannel(CharacterDevice device) =>
        new(device, new DeviceHostOptions { MmapMode = DirectMmapMode.None }) { IsCuse = true };

    /// <summary>True when this host serves a CUSE channel rather than a FUSE mount.</summary>
    internal bool IsCuse { get; private init; }

    /// <summary>CUSE_INIT: the connection is this host's, and a CUSE device cannot be mapped.</summary>
    internal void InitCuseChannel(FuseConnection connection)
    {
        _connection = connection;
        SetMode(DirectMmapMode.None, "CUSE devices cannot be mapped");
    }

    /// <summary>An unrestricted IOCTL on an open device file (first call: empty input and output; after a retry: the requested memory).</summary>
    internal async ValueTask<Result<IoctlResult>> UnrestrictedIoctlAsync(FuseContext context, FileHandle handle, uint command, ulong argument,
        ReadOnlyMemory<byte> input, Memory<byte> output, CancellationToken cancellationToken)
    {
        if (!_files.TryGetValue(handle.Value, out var file)) return Errno.EBADF;
        var c = new IoctlCommand(command);
        if (Device.RetryIoctlsByCommandNumber)
        {
            int needIn = c.HasInput ? c.Size : 0, needOut = c.HasOutput ? c.Size : 0;
            // First round: the kernel knows nothing of the argument; ask for what the command number says.
            if (input.Length < needIn || output.Length < needOut) return IoctlResult.RetryByCommandNumber(c, argument);
            input = input[..needIn];
            output = output[..needOut];
        }
        var request = new DeviceIoctl(context, command, argument, input, output, unrestricted: true);
        return await Device.IoctlAsync(file, request, cancellationToken).ConfigureAwait(false);
    }
}
