using System.Diagnostics.CodeAnalysis;

namespace DirectFuse;

/// <summary>
/// What a handler answers: a value or an errno. Converts implicitly from both, so a handler writes
/// <c>return Errno.ENOENT;</c> or <c>return entry;</c> and expected failures cost no exception.
/// </summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    public Result(T value) { _value = value; Error = Errno.Ok; }

    public Result(Errno error)
    {
        if (error.IsOk) throw new ArgumentException("An error result needs a non-zero errno.", nameof(error));
        _value = default;
        Error = error;
    }

    public Errno Error { get; }
    public bool IsOk => Error.IsOk;

    public T Value => Error.IsOk ? _value! : throw new InvalidOperationException($"The result is an error: {Error}.");

    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return Error.IsOk;
    }

    public static implicit operator Result<T>(T value) => new(value);
    public static implicit operator Result<T>(Errno error) => new(error);

    public override string ToString() => Error.IsOk ? $"Ok({_value})" : Error.ToString();
}
