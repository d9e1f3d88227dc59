namespace DirectFuse.Session;

/// <summary>A mount that could not be made, with a message fit for a one-line error.</summary>
public sealed class MountException : Exception
{
    /// <summary>
    /// A mount that failed for <paramref name="message"/> (one line), with the errno behind it if any.
    /// </summary>
    public MountException(string message, Errno errno = default) : base(message) => Errno = errno;

    /// <summary>A mount that failed because of <paramref name="innerException"/> (e.g. the file system's INIT threw).</summary>
    public MountException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The errno that made the mount fail, when one did; <see cref="Errno.Ok"/> otherwise.</summary>
    public Errno Errno { get; }
}
