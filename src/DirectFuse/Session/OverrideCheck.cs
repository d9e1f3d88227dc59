namespace DirectFuse.Session;

/// <summary>
/// Whether a file system overrides an optional operation of its base class: capabilities such as locking are
/// only asked of the kernel (at INIT) when the file system implements them, as libfuse does with its table of
/// operations.
/// </summary>
internal static class OverrideCheck
{
    /// <summary>True when <paramref name="instance"/>'s class (or a class between it and <typeparamref name="TBase"/>) overrides <paramref name="method"/>.</summary>
    public static bool Overrides<TBase>(TBase instance, string method) where TBase : class
    {
        var declared = typeof(TBase).GetMethod(method) ?? throw new ArgumentException($"{typeof(TBase).Name} has no method {method}", nameof(method));
        var parameterTypes = Array.ConvertAll(declared.GetParameters(), p => p.ParameterType);
        return instance.GetType().GetMethod(method, parameterTypes)?.DeclaringType != typeof(TBase);
    }
}
