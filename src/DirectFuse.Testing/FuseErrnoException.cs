namespace DirectFuse.Testing;

/// <summary>A request the test expected to succeed was answered with an errno.</summary>
public sealed class FuseErrnoException : Exception
{
    /// <summary>Creates the exception for <paramref name="operation"/> answered with <paramref name="errno"/>.</summary>
    /// <param name="operation">The request, as <see cref="FuseReply.Operation"/> describes it.</param>
    /// <param name="errno">The errno it was answered with.</param>
    public FuseErrnoException(string operation, Errno errno) : base($"{operation} failed with {errno}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>The request, as <see cref="FuseReply.Operation"/> describes it.</summary>
    public string Operation { get; }

    /// <summary>The errno it was answered with.</summary>
    public Errno Errno { get; }
}
