namespace DirectFuse;

/// <summary>A positive Linux errno value. <see cref="Ok"/> (0) means success.</summary>
public readonly record struct Errno(int Value)
{
    /// <summary>Success (0): not an error.</summary>
    public static readonly Errno Ok = new(0);
    /// <summary>Operation not permitted: the caller lacks the privilege (not just the permission bits).</summary>
    public static readonly Errno EPERM = new(1);
    /// <summary>No such file or directory.</summary>
    public static readonly Errno ENOENT = new(2);
    /// <summary>No such process.</summary>
    public static readonly Errno ESRCH = new(3);
    /// <summary>Interrupted: the caller got a signal (what a cancelled handler answers).</summary>
    public static readonly Errno EINTR = new(4);
    /// <summary>Input/output error: what an unexpected handler exception answers.</summary>
    public static readonly Errno EIO = new(5);
    /// <summary>No such device or address.</summary>
    public static readonly Errno ENXIO = new(6);
    /// <summary>Argument list too long; for extended attributes, a value or list larger than the kernel allows.</summary>
    public static readonly Errno E2BIG = new(7);
    /// <summary>Bad file handle: the open file is unknown or not open for this operation.</summary>
    public static readonly Errno EBADF = new(9);
    /// <summary>Try again: nothing can be transferred now without blocking (O_NONBLOCK).</summary>
    public static readonly Errno EAGAIN = new(11);
    /// <summary>Out of memory.</summary>
    public static readonly Errno ENOMEM = new(12);
    /// <summary>Permission denied by the permission bits.</summary>
    public static readonly Errno EACCES = new(13);
    /// <summary>Bad address.</summary>
    public static readonly Errno EFAULT = new(14);
    /// <summary>Device or resource busy.</summary>
    public static readonly Errno EBUSY = new(16);
    /// <summary>The name exists already.</summary>
    public static readonly Errno EEXIST = new(17);
    /// <summary>Cross-device link: the operation cannot span two file systems.</summary>
    public static readonly Errno EXDEV = new(18);
    /// <summary>No such device (also: the file system does not support mapping the file).</summary>
    public static readonly Errno ENODEV = new(19);
    /// <summary>Not a directory.</summary>
    public static readonly Errno ENOTDIR = new(20);
    /// <summary>Is a directory.</summary>
    public static readonly Errno EISDIR = new(21);
    /// <summary>Invalid argument.</summary>
    public static readonly Errno EINVAL = new(22);
    /// <summary>Too many open files in the system.</summary>
    public static readonly Errno ENFILE = new(23);
    /// <summary>Too many open files in the process.</summary>
    public static readonly Errno EMFILE = new(24);
    /// <summary>Inappropriate ioctl for the device: an unknown ioctl command.</summary>
    public static readonly Errno ENOTTY = new(25);
    /// <summary>File too large.</summary>
    public static readonly Errno EFBIG = new(27);
    /// <summary>No space left on the device.</summary>
    public static readonly Errno ENOSPC = new(28);
    /// <summary>Illegal seek: the file has no position.</summary>
    public static readonly Errno ESPIPE = new(29);
    /// <summary>Read-only file system.</summary>
    public static readonly Errno EROFS = new(30);
    /// <summary>Too many links.</summary>
    public static readonly Errno EMLINK = new(31);
    /// <summary>Result too large: the caller's buffer is too small (GETXATTR, LISTXATTR).</summary>
    public static readonly Errno ERANGE = new(34);
    /// <summary>A blocking lock would deadlock.</summary>
    public static readonly Errno EDEADLK = new(35);
    /// <summary>A name longer than 255 bytes, or a path too long.</summary>
    public static readonly Errno ENAMETOOLONG = new(36);
    /// <summary>No locks available.</summary>
    public static readonly Errno ENOLCK = new(37);
    /// <summary>
    /// Not implemented: what a handler that is not overridden answers; for several requests the kernel then stops
    /// sending them.
    /// </summary>
    public static readonly Errno ENOSYS = new(38);
    /// <summary>Directory not empty.</summary>
    public static readonly Errno ENOTEMPTY = new(39);
    /// <summary>Too many levels of symbolic links.</summary>
    public static readonly Errno ELOOP = new(40);
    /// <summary>No such extended attribute.</summary>
    public static readonly Errno ENODATA = new(61);
    /// <summary>A value too large for its type.</summary>
    public static readonly Errno EOVERFLOW = new(75);
    /// <summary>Operation not supported by this file system.</summary>
    public static readonly Errno EOPNOTSUPP = new(95);
    /// <summary>Not connected: the FUSE connection was aborted.</summary>
    public static readonly Errno ENOTCONN = new(107);
    /// <summary>Timed out.</summary>
    public static readonly Errno ETIMEDOUT = new(110);
    /// <summary>Stale file handle: the node is gone.</summary>
    public static readonly Errno ESTALE = new(116);
    /// <summary>Disk quota exceeded.</summary>
    public static readonly Errno EDQUOT = new(122);

    /// <summary>True for <see cref="Ok"/>.</summary>
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

    /// <summary><c>OK</c>, or the name and number (<c>ENOENT (2)</c>), for logs.</summary>
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
    /// <summary>Answers <paramref name="errno"/>; the message is its name.</summary>
    public FuseException(Errno errno) : base(errno.ToString()) => Errno = errno;
    /// <summary>
    /// Answers <paramref name="errno"/>; <paramref name="message"/> is for logs only, the kernel sees just the errno.
    /// </summary>
    public FuseException(Errno errno, string message) : base(message) => Errno = errno;
    /// <summary>Answers <paramref name="errno"/> for a failure caused by <paramref name="inner"/>.</summary>
    public FuseException(Errno errno, string message, Exception inner) : base(message, inner) => Errno = errno;
    /// <summary>The errno the request is answered with.</summary>
    public Errno Errno { get; }
}
