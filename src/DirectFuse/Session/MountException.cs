namespace DirectFuse.Session;

/// <summary>A mount that could not be made, with a message fit for a one-line error.</summary>
public sealed class MountException : Exception
{
    public MountException(string message, Errno errno = default) : base(message) => Errno = errno;

    /// <summary>A mount that failed because of <paramref name="innerException"/> (e.g. the file system's INIT threw).</summary>
    public MountException(string message, Exception innerException) : base(message, innerException) { }

    public Errno Errno { get; }
}
