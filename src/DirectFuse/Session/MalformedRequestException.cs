namespace DirectFuse.Session;

/// <summary>
/// A request whose bytes do not match its opcode's layout, or whose name or length no kernel would send.
/// Answered with <see cref="Errno"/> (EINVAL unless told) and logged as one warning line; never fatal.
/// </summary>
internal sealed class MalformedRequestException(string message, Errno errno) : Exception(message)
{
    public MalformedRequestException(string message) : this(message, Errno.EINVAL) { }

    public Errno Errno { get; } = errno;
}
