using DirectFuse.Cuse;
using DirectFuse.DirectMmap;
using DirectFuse.LowLevel;

namespace DirectFuse.Devices;

// The CUSE side of the device host: the same OPEN/READ/WRITE/FLUSH/RELEASE/POLL handling, plus CUSE_INIT's
// device info and unrestricted ioctls. CUSE files have no attributes and no mmap.
public sealed partial class DeviceFileSystem : ICuseServer
{
    private CuseDeviceInfo? _cuseInfo;

    internal DeviceFileSystem(CharacterDevice device, CuseDeviceInfo info)
        : this(device, new DeviceHostOptions { MmapMode = DirectMmapMode.None }) => _cuseInfo = info;

    CuseDeviceInfo ICuseServer.DeviceInfo => _cuseInfo ?? throw new InvalidOperationException("not a CUSE host");

    /// <summary>True when this host serves a CUSE channel rather than a FUSE mount.</summary>
    public bool IsCuse => _cuseInfo is not null;

    void ICuseServer.CuseInit(FuseConnection connection)
    {
        _connection = connection;
        SetMode(DirectMmapMode.None, "CUSE devices cannot be mapped");
    }

    async ValueTask<Result<IoctlResult>> ICuseServer.UnrestrictedIoctlAsync(FuseContext context, FileHandle handle, uint command, ulong argument,
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
