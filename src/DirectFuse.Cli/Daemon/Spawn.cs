using System.Runtime.InteropServices;
using DirectFuse.Cli.Interop;

namespace DirectFuse.Cli.Daemon;

/// <summary>
/// posix_spawn(3) of the daemon: a new session (setsid, so the terminal's hang-up and Ctrl-C do not reach it),
/// default signal dispositions and an empty signal mask (a shell may have left SIGINT ignored, and an ignored
/// signal stays ignored across exec), standard input on /dev/null, standard output on /dev/null or the journal,
/// and standard error on the readiness pipe. Process.Start can do none of the first two and would hand the daemon the caller's output
/// streams, which mount(8)'s caller may wait on until they close.
/// </summary>
internal static unsafe partial class Spawn
{
    private const string Lib = "libc";
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    /// <summary>Larger than glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128) on every architecture.</summary>
    private const int OpaqueSize = 1024;

    /// <summary>
    /// Starts <paramref name="argv"/> (argv[0] is the program's path) with <paramref name="environment"/>, its
    /// standard output on <paramref name="stdoutFd"/> (-1: /dev/null) and its standard error on
    /// <paramref name="stderrFd"/>; other fds without close-on-exec are inherited as they are. Returns the pid,
    /// or throws <see cref="IOException"/> with the reason.
    /// </summary>
    public static int Start(IReadOnlyList<string> argv, IReadOnlyList<string> environment, int stdoutFd, int stderrFd)
    {
        var actions = NativeMemory.AllocZeroed(OpaqueSize);
        var attributes = NativeMemory.AllocZeroed(OpaqueSize);
        var signals = NativeMemory.AllocZeroed(OpaqueSize);
        var nativeArgv = ToNative(argv);
        var nativeEnvironment = ToNative(environment);
        try
        {
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(posix_spawnattr_init(attributes), "posix_spawnattr_init");
            try
            {
                Check(posix_spawn_file_actions_addopen(actions, 0, "/dev/null", Native.O_RDWR, 0), "addopen /dev/null");
                // dup2 leaves the new descriptors without close-on-exec, whatever the originals have.
                Check(posix_spawn_file_actions_adddup2(actions, stdoutFd >= 0 ? stdoutFd : 0, 1), "adddup2 stdout");
                Check(posix_spawn_file_actions_adddup2(actions, stderrFd, 2), "adddup2 stderr");
                Check(posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), "setflags");
                sigfillset(signals);
                Check(posix_spawnattr_setsigdefault(attributes, signals), "setsigdefault");
                sigemptyset(signals);
                Check(posix_spawnattr_setsigmask(attributes, signals), "setsigmask");
                int pid;
                Check(posix_spawn(&pid, argv[0], actions, attributes, nativeArgv, nativeEnvironment), $"posix_spawn {argv[0]}");
                return pid;
            }
            finally
            {
                posix_spawn_file_actions_destroy(actions);
                posix_spawnattr_destroy(attributes);
            }
        }
        finally
        {
            Free(nativeArgv);
            Free(nativeEnvironment);
            NativeMemory.Free(actions);
            NativeMemory.Free(attributes);
            NativeMemory.Free(signals);
        }
    }

    private static void Check(int error, string what)
    {
        // The posix_spawn family returns the error number instead of setting errno.
        if (error != 0) throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(error)}");
    }

    private static nint* ToNative(IReadOnlyList<string> strings)
    {
        var array = (nint*)NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < strings.Count; i++) array[i] = Marshal.StringToCoTaskMemUTF8(strings[i]);
        return array;
    }

    private static void Free(nint* array)
    {
        for (nint* p = array; *p != 0; p++) Marshal.FreeCoTaskMem(*p);
        NativeMemory.Free(array);
    }

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn(int* pid, string path, void* fileActions, void* attributes, nint* argv, nint* envp);

    [LibraryImport(Lib)]
    private static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport(Lib)]
    private static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn_file_actions_addopen(void* actions, int fd, string path, int flags, uint mode);

    [LibraryImport(Lib)]
    private static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport(Lib)]
    private static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport(Lib)]
    private static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport(Lib)]
    private static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport(Lib)]
    private static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport(Lib)]
    private static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport(Lib)]
    private static partial int sigfillset(void* set);

    [LibraryImport(Lib)]
    private static partial int sigemptyset(void* set);
}
