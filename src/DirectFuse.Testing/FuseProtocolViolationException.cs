namespace DirectFuse.Testing;

/// <summary>
/// The file system (or the engine on its behalf) sent a reply a real kernel would refuse or treat as an error:
/// a wrong size for the request, an errno out of range, a reply to no request, attributes without a file type,
/// a node id the kernel reserves. On a mount the caller would see EIO, or hang; here the test fails with what
/// was wrong.
/// </summary>
public sealed class FuseProtocolViolationException : Exception
{
    /// <summary>Creates the exception for <paramref name="operation"/>.</summary>
    /// <param name="operation">The request the reply answered, as <see cref="FuseReply.Operation"/> describes it.</param>
    /// <param name="violation">What was wrong and what the kernel would do.</param>
    public FuseProtocolViolationException(string operation, string violation) : base($"{operation}: {violation}")
    {
        Operation = operation;
        Violation = violation;
    }

    /// <summary>The request the reply answered.</summary>
    public string Operation { get; }

    /// <summary>What was wrong with the reply and what the kernel would do about it.</summary>
    public string Violation { get; }
}
