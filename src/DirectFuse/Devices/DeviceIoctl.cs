using DirectFuse.LowLevel;

namespace DirectFuse.Devices;

/// <summary>
/// An ioctl command number in the Linux encoding: bits 0–7 the number, 8–15 the type ("magic" character),
/// 16–29 the argument size, 30–31 the direction (_IOC_WRITE 1: the caller passes data in; _IOC_READ 2: the
/// driver passes data out). Restricted FUSE ioctls get exactly these sizes copied in and out by the kernel.
/// </summary>
public readonly record struct IoctlCommand(uint Value)
{
    /// <summary>_IOC_NONE, _IOC_WRITE and _IOC_READ: the values of <see cref="Direction"/>.</summary>
    public const uint DirectionNone = 0, DirectionWrite = 1, DirectionRead = 2;

    /// <summary>_IOC_NR: the command's number within its <see cref="Type"/> (bits 0–7).</summary>
    public uint Number => Value & 0xFF;
    /// <summary>_IOC_TYPE: the driver's "magic" character (bits 8–15), e.g. 'P' for OSS sound.</summary>
    public uint Type => (Value >> 8) & 0xFF;
    /// <summary>_IOC_SIZE: the size of the argument struct (14 bits).</summary>
    public int Size => (int)((Value >> 16) & 0x3FFF);
    /// <summary>_IOC_DIR: <see cref="DirectionWrite"/>, <see cref="DirectionRead"/>, both or neither.</summary>
    public uint Direction => Value >> 30;
    /// <summary>The caller passes <see cref="Size"/> bytes in (_IOW, _IOWR).</summary>
    public bool HasInput => (Direction & DirectionWrite) != 0 && Size > 0;
    /// <summary>The driver passes <see cref="Size"/> bytes out (_IOR, _IOWR).</summary>
    public bool HasOutput => (Direction & DirectionRead) != 0 && Size > 0;

    private static IoctlCommand Make(uint direction, char type, uint number, int size) =>
        new((direction << 30) | ((uint)size << 16) | ((uint)type << 8) | number);

    /// <summary>_IO(type, nr): no argument data (the raw argument is passed).</summary>
    public static IoctlCommand Io(char type, uint number) => Make(DirectionNone, type, number, 0);
    /// <summary>_IOR(type, nr, size): the driver writes <paramref name="size"/> bytes to the caller.</summary>
    public static IoctlCommand Ior(char type, uint number, int size) => Make(DirectionRead, type, number, size);
    /// <summary>_IOW(type, nr, size): the caller passes <paramref name="size"/> bytes.</summary>
    public static IoctlCommand Iow(char type, uint number, int size) => Make(DirectionWrite, type, number, size);
    /// <summary>_IOWR(type, nr, size): both ways.</summary>
    public static IoctlCommand Iowr(char type, uint number, int size) => Make(DirectionWrite | DirectionRead, type, number, size);

    /// <summary>The command number in hexadecimal, as kernel headers and strace print it.</summary>
    public override string ToString() => $"0x{Value:X8}";
}

/// <summary>A range of the calling process's memory (<c>struct fuse_ioctl_iovec</c>), for unrestricted ioctls.</summary>
public readonly record struct IoctlIovec(ulong Address, ulong Length);

/// <summary>
/// One ioctl(2) on a device. <see cref="Input"/> holds the caller's data and <see cref="Output"/> takes the
/// answer: on FUSE (restricted) their sizes come from the command number; on CUSE (unrestricted) they hold
/// whatever the device asked for with <see cref="IoctlResult.Retry"/>, and both are empty on the first call.
/// </summary>
public sealed class DeviceIoctl
{
    internal DeviceIoctl(FuseContext caller, uint command, ulong argument, ReadOnlyMemory<byte> input, Memory<byte> output, bool unrestricted)
    {
        Caller = caller;
        Command = new IoctlCommand(command);
        Argument = argument;
        Input = input;
        Output = output;
        IsUnrestricted = unrestricted;
    }

    /// <summary>The process making the ioctl(2).</summary>
    public FuseContext Caller { get; }
    /// <summary>The command number, decoded.</summary>
    public IoctlCommand Command { get; }
    /// <summary>ioctl(2)'s third argument as passed: a pointer in the caller's address space, or a plain integer for _IO commands.</summary>
    public ulong Argument { get; }
    /// <summary>
    /// The caller's data (the argument struct for _IOW and _IOWR commands); valid until the ioctl's task completes.
    /// </summary>
    public ReadOnlyMemory<byte> Input { get; }
    /// <summary>
    /// Where the answer goes (the argument struct for _IOR and _IOWR commands); report the bytes written with
    /// <see cref="IoctlResult.Done"/>.
    /// </summary>
    public Memory<byte> Output { get; }
    /// <summary>True on CUSE: the device may ask for any of the caller's memory with <see cref="IoctlResult.Retry"/>.</summary>
    public bool IsUnrestricted { get; }

    /// <summary>The input as a little-endian int (the common <c>int *</c> argument); 0 if shorter.</summary>
    public int InputInt32 => Input.Length >= 4 ? BitConverter.ToInt32(Input.Span) : 0;

    /// <summary>Writes an int answer; returns the result for a successful ioctl that filled 4 bytes.</summary>
    public IoctlResult ReturnInt32(int value, int result = 0)
    {
        if (Output.Length < 4) return IoctlResult.Done(result);
        BitConverter.TryWriteBytes(Output.Span, value);
        return IoctlResult.Done(result, 4);
    }

    /// <summary>Writes <paramref name="value"/> as the answer struct (it must fit the output).</summary>
    public IoctlResult Return<T>(in T value, int result = 0) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (Output.Length < size) return IoctlResult.Done(result);
        System.Runtime.InteropServices.MemoryMarshal.Write(Output.Span, in value);
        return IoctlResult.Done(result, size);
    }
}

/// <summary>
/// The answer to an ioctl: its return value and how many bytes of <see cref="DeviceIoctl.Output"/> are valid,
/// or (unrestricted ioctls only) a request to call again with the named ranges of the caller's memory —
/// the kernel copies the <c>in</c> ranges into <see cref="DeviceIoctl.Input"/> and copies
/// <see cref="DeviceIoctl.Output"/> back to the <c>out</c> ranges (FUSE_IOCTL_RETRY).
/// </summary>
public readonly struct IoctlResult
{
    private IoctlResult(int result, int outLength, IoctlIovec[]? retryIn, IoctlIovec[]? retryOut)
    {
        Result = result;
        OutLength = outLength;
        RetryIn = retryIn;
        RetryOut = retryOut;
    }

    /// <summary>The value ioctl(2) returns (non-negative; errors are an <see cref="Errno"/> instead).</summary>
    public int Result { get; }
    /// <summary>
    /// How many bytes of <see cref="DeviceIoctl.Output"/> the device filled; the kernel copies these back to the
    /// caller.
    /// </summary>
    public int OutLength { get; }
    /// <summary>
    /// For a retry: the caller's memory to copy into <see cref="DeviceIoctl.Input"/> on the next call; null otherwise.
    /// </summary>
    public IoctlIovec[]? RetryIn { get; }
    /// <summary>
    /// For a retry: the caller's memory that <see cref="DeviceIoctl.Output"/> is copied back to after the next call;
    /// null otherwise.
    /// </summary>
    public IoctlIovec[]? RetryOut { get; }
    /// <summary>
    /// True when this answer asks the kernel to call again with the named memory (<see cref="Retry"/>).
    /// </summary>
    public bool IsRetry => RetryIn is not null || RetryOut is not null;

    /// <summary>
    /// A finished ioctl: ioctl(2) returns <paramref name="result"/> and the first <paramref name="outLength"/> bytes of
    /// the output go back to the caller.
    /// </summary>
    public static IoctlResult Done(int result = 0, int outLength = 0) => new(result, outLength, null, null);

    /// <summary>Asks for the call again with these of the caller's memory ranges (at most 256 in all).</summary>
    public static IoctlResult Retry(IoctlIovec[] input, IoctlIovec[] output) => new(0, 0, input, output);

    /// <summary>The retry that gives an unrestricted ioctl what the restricted kind gets: the argument's _IOC_SIZE bytes in and/or out.</summary>
    public static IoctlResult RetryByCommandNumber(IoctlCommand command, ulong argument) => Retry(
        command.HasInput ? [new IoctlIovec(argument, (ulong)command.Size)] : [],
        command.HasOutput ? [new IoctlIovec(argument, (ulong)command.Size)] : []);
}
