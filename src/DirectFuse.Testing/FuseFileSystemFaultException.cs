namespace DirectFuse.Testing;

/// <summary>
/// A handler of the file system failed in a way the engine had to cover up: it threw an exception other than
/// <c>FuseException</c> (the engine answered EIO or the errno the exception maps to), completed without a reply
/// (EIO), or Destroy threw. On a mount this is one error line in the log; here it fails the test, with the
/// handler's exception as <see cref="Exception.InnerException"/>. Set
/// <see cref="FuseTestKernelOptions.ThrowOnFileSystemFault"/> to false to get the errno reply instead.
/// </summary>
public sealed class FuseFileSystemFaultException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The request being answered when the fault was seen (or what the kit was doing).</param>
    /// <param name="faults">What the engine reported, one line each.</param>
    /// <param name="innerException">The first handler exception, if any.</param>
    public FuseFileSystemFaultException(string operation, IReadOnlyList<string> faults, Exception? innerException)
        : base($"{operation}: the file system failed: {string.Join("; ", faults)}", innerException)
    {
        Operation = operation;
        Faults = faults;
    }

    /// <summary>The request being answered when the fault was seen.</summary>
    public string Operation { get; }

    /// <summary>What the engine reported, one line each.</summary>
    public IReadOnlyList<string> Faults { get; }
}
