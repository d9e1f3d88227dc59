namespace DirectFuse;

/// <summary>A positive Linux errno value. <see cref="Ok"/> (0) means success.</summary>
public readonly record struct Errno(int Value)
{
    public static readonly Errno Ok = new(0);
    public static readonly Errno EPERM = new(1);
    public static readonly Errno ENOENT = new(2);
    public static readonly Errno ESRCH = new(3);
    public static readonly Errno EINTR = new(4);
    public static readonly Errno EIO = new(5);
    public static readonly Errno ENXIO = new(6);
    public static readonly Errno E2BIG = new(7);
    public static readonly Errno EBADF = new(9);
    public static readonly Errno EAGAIN = new(11);
    public static readonly Errno ENOMEM = new(12);
    public static readonly Errno EACCES = new(13);
    public static readonly Errno EFAULT = new(14);
    public static readonly Errno EBUSY = new(16);
    public static readonly Errno EEXIST = new(17);
    public static readonly Errno EXDEV = new(18);
    public static readonly Errno ENODEV = new(19);
    public static readonly Errno ENOTDIR = new(20);
    public static readonly Errno EISDIR = new(21);
    public static readonly Errno EINVAL = new(22);
    public static readonly Errno ENFILE = new(23);
    public static readonly Errno EMFILE = new(24);
    public static readonly Errno ENOTTY = new(25);
    public static readonly Errno EFBIG = new(27);
    public static readonly Errno ENOSPC = new(28);
    public static readonly Errno ESPIPE = new(29);
    public static readonly Errno EROFS = new(30);
    public static readonly Errno EMLINK = new(31);
    public static readonly Errno ERANGE = new(34);
    public static readonly Errno EDEADLK = new(35);
    public static readonly Errno ENAMETOOLONG = new(36);
    public static readonly Errno ENOLCK = new(37);
    public static readonly Errno ENOSYS = new(38);
    public static readonly Errno ENOTEMPTY = new(39);
    public static readonly Errno ELOOP = new(40);
    public static readonly Errno ENODATA = new(61);
    public static readonly Errno EOVERFLOW = new(75);
    public static readonly Errno EOPNOTSUPP = new(95);
    public static readonly Errno ENOTCONN = new(107);
    public static readonly Errno ETIMEDOUT = new(110);
    public static readonly Errno ESTALE = new(116);
    public static readonly Errno EDQUOT = new(122);

    public bool IsOk => Value == 0;

    /// <summary>The errno of the last failed P/Invoke on this thread.</summary>
    public static Errno Last => new(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());

    /// <summary>Maps an exception thrown by a handler to the errno the kernel should see.</summary>
    public static Errno FromException(Exception exception) => exception switch
    {
        FuseException fuse => fuse.Errno,
        OperationCanceledException => EINTR,
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException => EACCES,
        PathTooLongException => ENAMETOOLONG,
        NotSupportedException or NotImplementedException => ENOSYS,
        ArgumentException => EINVAL,
        IOException io when io.HResult > 0 && io.HResult < 4096 => new Errno(io.HResult),
        _ => EIO,
    };

    public override string ToString() => Value == 0 ? "OK" : $"{Name} ({Value})";

    /// <summary>The symbolic name (ENOENT, ...) where known.</summary>
    public string Name => Value switch
    {
        1 => "EPERM", 2 => "ENOENT", 3 => "ESRCH", 4 => "EINTR", 5 => "EIO", 6 => "ENXIO", 7 => "E2BIG", 9 => "EBADF",
        11 => "EAGAIN", 12 => "ENOMEM", 13 => "EACCES", 14 => "EFAULT", 16 => "EBUSY", 17 => "EEXIST", 18 => "EXDEV",
        19 => "ENODEV", 20 => "ENOTDIR", 21 => "EISDIR", 22 => "EINVAL", 23 => "ENFILE", 24 => "EMFILE", 25 => "ENOTTY",
        27 => "EFBIG", 28 => "ENOSPC", 29 => "ESPIPE", 30 => "EROFS", 31 => "EMLINK", 34 => "ERANGE", 35 => "EDEADLK",
        36 => "ENAMETOOLONG", 37 => "ENOLCK", 38 => "ENOSYS", 39 => "ENOTEMPTY", 40 => "ELOOP", 61 => "ENODATA",
        75 => "EOVERFLOW", 95 => "EOPNOTSUPP", 107 => "ENOTCONN", 110 => "ETIMEDOUT", 116 => "ESTALE", 122 => "EDQUOT",
        0 => "OK",
        _ => "E" + Value,
    };
}

/// <summary>Thrown by a handler to answer a specific errno (any other exception answers EIO).</summary>
public sealed class FuseException : Exception
{
    public FuseException(Errno errno) : base(errno.ToString()) => Errno = errno;
    public FuseException(Errno errno, string message) : base(message) => Errno = errno;
    public FuseException(Errno errno, string message, Exception inner) : base(message, inner) => Errno = errno;
    public Errno Errno { get; }
}
