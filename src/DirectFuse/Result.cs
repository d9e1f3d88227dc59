using System.Diagnostics.CodeAnalysis;

namespace DirectFuse;

/// <summary>
/// What a handler answers: a value or an errno. Converts implicitly from both, so a handler writes
/// <c>return Errno.ENOENT;</c> or <c>return entry;</c> and expected failures cost no exception.
/// </summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    /// <summary>A success carrying <paramref name="value"/>.</summary>
    public Result(T value) { _value = value; Error = Errno.Ok; }

    /// <summary>
    /// A failure with <paramref name="error"/>; throws <see cref="ArgumentException"/> for <see cref="Errno.Ok"/>.
    /// </summary>
    public Result(Errno error)
    {
        if (error.IsOk) throw new ArgumentException("An error result needs a non-zero errno.", nameof(error));
        _value = default;
        Error = error;
    }

    /// <summary><see cref="Errno.Ok"/> on success, the errno otherwise.</summary>
    public Errno Error { get; }
    /// <summary>True on success.</summary>
    public bool IsOk => Error.IsOk;

    /// <summary>The value; throws <see cref="InvalidOperationException"/> for a failure.</summary>
    public T Value => Error.IsOk ? _value! : throw new InvalidOperationException($"The result is an error: {Error}.");

    /// <summary>The value in place, for the engine's reply builders (no copy of a large struct); defined only on success.</summary>
    [UnscopedRef]
    internal ref readonly T ValueRef => ref _value!;

    /// <summary>The value, when this is a success.</summary>
    /// <returns>True on success; false, with <paramref name="value"/> undefined, on failure.</returns>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return Error.IsOk;
    }

    /// <summary>A success carrying <paramref name="value"/>.</summary>
    public static implicit operator Result<T>(T value) => new(value);
    /// <summary>A failure with <paramref name="error"/> (which must not be <see cref="Errno.Ok"/>).</summary>
    public static implicit operator Result<T>(Errno error) => new(error);

    /// <summary><c>Ok(value)</c> or the errno, for logs.</summary>
    public override string ToString() => Error.IsOk ? $"Ok({_value})" : Error.ToString();
}
