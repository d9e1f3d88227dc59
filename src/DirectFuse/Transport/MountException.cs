namespace DirectFuse.Transport;

/// <summary>A mount that could not be made, with a message fit for a one-line error.</summary>
public sealed class MountException : Exception
{
    public MountException(string message, Errno errno = default) : base(message) => Errno = errno;
    public Errno Errno { get; }
}
