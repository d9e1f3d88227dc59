using DirectFuse.Devices;
using DirectFuse.LowLevel;
using DirectFuse.Session;

namespace DirectFuse.Cuse;

/// <summary>
/// Serves a <see cref="CharacterDevice"/> on a CUSE channel: <see cref="FileSystem"/> answers the file I/O, and this
/// tells the engine the device's identity (<see cref="CuseDeviceInfo"/>) and turns its unrestricted ioctls into the
/// engine's retry protocol.
/// </summary>
internal sealed class CuseDeviceServer : ICuseServer
{
    private readonly CuseDeviceInfo _info;

    public CuseDeviceServer(CharacterDevice device, CuseDeviceInfo info)
    {
        FileSystem = DeviceFileSystem.ForCuseChannel(device);
        _info = info;
    }

    /// <summary>The device host the session serves (its file system).</summary>
    public DeviceFileSystem FileSystem { get; }

    public uint DevMajor => _info.DevMajor;
    public uint DevMinor => _info.DevMinor;
    public bool UnrestrictedIoctl => _info.UnrestrictedIoctl;

    public byte[] DeviceInfoBytes() => _info.ToInfoBytes();

    public void CuseInit(FuseConnection connection) => FileSystem.InitCuseChannel(connection);

    public async ValueTask<Result<CuseIoctlReply>> UnrestrictedIoctlAsync(FuseContext context, FileHandle handle, uint command, ulong argument,
        ReadOnlyMemory<byte> input, Memory<byte> output, CancellationToken cancellationToken)
    {
        var result = await FileSystem.UnrestrictedIoctlAsync(context, handle, command, argument, input, output, cancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out var reply)) return result.Error;
        return reply.IsRetry
            ? new CuseIoctlReply(0, 0, Ranges(reply.RetryIn), Ranges(reply.RetryOut))
            : new CuseIoctlReply(reply.Result, reply.OutLength);
    }

    private static (ulong Address, ulong Length)[] Ranges(IoctlIovec[]? ranges) =>
        ranges is null ? [] : Array.ConvertAll(ranges, r => (r.Address, r.Length));
}
