using System.Diagnostics.CodeAnalysis;

namespace DirectFuse.Testing;

/// <summary>
/// The answer to one request: success, or the errno the caller of the system call would see. Replies that break
/// the protocol never get here: they throw <see cref="FuseProtocolViolationException"/> instead.
/// </summary>
public class FuseReply
{
    internal FuseReply(string operation, Errno errno)
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>The request this answers, for messages: <c>LOOKUP "name" in node 1</c>.</summary>
    public string Operation { get; }

    /// <summary>The errno of a failure; <see cref="Errno.Ok"/> on success.</summary>
    public Errno Errno { get; }

    /// <summary>True when the file system answered with success.</summary>
    public bool IsSuccess => Errno.IsOk;

    /// <summary>Throws <see cref="FuseErrnoException"/> if the file system answered with an errno.</summary>
    /// <exception cref="FuseErrnoException">The reply is an error.</exception>
    public void ThrowIfError()
    {
        if (!IsSuccess) throw new FuseErrnoException(Operation, Errno);
    }

    /// <inheritdoc/>
    public override string ToString() => IsSuccess ? $"{Operation}: OK" : $"{Operation}: {Errno}";
}

/// <summary>The answer to one request: a value, or the errno the caller of the system call would see.</summary>
/// <typeparam name="T">What a successful reply carries.</typeparam>
public sealed class FuseReply<T> : FuseReply
{
    private readonly T? _value;

    internal FuseReply(string operation, Errno errno, T? value) : base(operation, errno) => _value = value;

    /// <summary>The value of a successful reply.</summary>
    /// <exception cref="FuseErrnoException">The reply is an error: the message names the request and the errno.</exception>
    public T Value => IsSuccess ? _value! : throw new FuseErrnoException(Operation, Errno);

    /// <summary>Returns the value, or throws <see cref="FuseErrnoException"/> if the file system answered with an errno.</summary>
    /// <exception cref="FuseErrnoException">The reply is an error.</exception>
    public new T ThrowIfError() => Value;

    /// <summary>The value when the reply is a success.</summary>
    /// <param name="value">The value; default on failure.</param>
    /// <returns>True on success.</returns>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return IsSuccess;
    }

    /// <inheritdoc/>
    public override string ToString() => IsSuccess ? $"{Operation}: {_value}" : base.ToString();
}
