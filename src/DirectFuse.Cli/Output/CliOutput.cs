using System.Text;
using System.Text.RegularExpressions;
using DirectFuse.Cli.Daemon;
using DirectFuse.Cli.Systemd;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Cli.Output;

/// <summary>
/// Every line the command prints: information on standard output, warnings and errors on standard error, log
/// lines (the engine's, and one per request with --debug) on standard output, but the engine's warnings and
/// errors on standard error. A stream connected to the journal
/// gets sd-daemon(3) lines instead: a <c>&lt;N&gt;</c> syslog priority first, no timestamp (journald adds one),
/// no colour, and one line per message (a message's line breaks become spaces).
/// </summary>
/// <remarks>
/// The writers write to descriptors 1 and 2 themselves, not to duplicates of them as Console's do, so that a
/// daemon that moves its standard error off the readiness pipe (dup2) moves these messages with it.
/// </remarks>
internal static partial class CliOutput
{
    private const int Error = 3, Warning = 4, Info = 6, Debug = 7;
    private static readonly TextWriter s_stdout = Open(1), s_stderr = Open(2);
    private static TextWriter s_info = s_stdout;
    private static bool s_outIsJournal, s_errIsJournal, s_infoIsJournal;

    /// <summary>Looks at <c>JOURNAL_STREAM</c> and the two descriptors; call again after they are redirected.</summary>
    public static void DetectJournal()
    {
        s_outIsJournal = JournalStream.Is(1);
        // A daemon that is not ready yet writes journal lines into the readiness pipe: the starting command
        // takes each line's priority from them (Relay) and writes it as its own.
        s_errIsJournal = DaemonChild.IsActive || JournalStream.Is(2);
        s_infoIsJournal = s_info == s_stdout ? s_outIsJournal : s_errIsJournal;
    }

    /// <summary>From now on information and log lines go to standard error: standard output carries data (ossdsp --raw).</summary>
    public static void SendInfoToStandardError()
    {
        s_info = s_stderr;
        s_infoIsJournal = s_errIsJournal;
    }

    /// <summary>True when standard error goes to the journal.</summary>
    public static bool ErrorIsJournal => s_errIsJournal;

    /// <summary>A line of information (standard output).</summary>
    public static void Say(string line) => Write(s_info, s_infoIsJournal, Info, line);

    /// <summary>A warning (standard error); the caller writes the "directfuse: " prefix, as for every message.</summary>
    public static void Warn(string line) => Write(s_stderr, s_errIsJournal, Warning, line);

    /// <summary>An error (standard error).</summary>
    public static void Fail(string line) => Write(s_stderr, s_errIsJournal, Error, line);

    /// <summary>
    /// A line from the daemon's readiness pipe, written on standard error as this process's own: its
    /// <c>&lt;N&gt;</c> priority kept for the journal, taken off for a terminal. A line without one (the runtime
    /// reporting a crash) is an error.
    /// </summary>
    public static void Relay(string line)
    {
        int priority = Error;
        if (line.Length >= 3 && line[0] == '<' && line[1] is >= '0' and <= '7' && line[2] == '>')
        {
            priority = line[1] - '0';
            line = line[3..];
        }
        Write(s_stderr, s_errIsJournal, priority, line);
    }

    /// <summary>
    /// A log line of <paramref name="category"/>: warnings and errors (a failing handler, a refused reply) on
    /// standard error, other lines on standard output; everything on standard error in a daemon that is not
    /// ready yet, whose standard error is what reaches the command that started it.
    /// </summary>
    public static void Log(LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        var (writer, journal) = DaemonChild.IsActive || level >= LogLevel.Warning ? (s_stderr, s_errIsJournal) : (s_info, s_infoIsJournal);
        if (journal)
        {
            string text = exception is null ? message : $"{message}: {exception}";
            Write(writer, true, Priority(level), $"{category}[{eventId.Id}] {text}");
            return;
        }
        string line = $"{DateTime.Now:HH:mm:ss.fff} {LevelName(level)}: {category}[{eventId.Id}] {message}";
        Write(writer, false, 0, exception is null ? line : line + Environment.NewLine + exception);
    }

    private static TextWriter Open(int fd) =>
        TextWriter.Synchronized(new StreamWriter(new DescriptorStream(fd), new UTF8Encoding(false)) { AutoFlush = true });

    private static void Write(TextWriter writer, bool journal, int priority, string line)
    {
        try
        {
            writer.WriteLine(journal ? $"<{priority}>{LineBreaks().Replace(line, " ")}" : line);
        }
        catch (IOException)
        {
            // The reader is gone (a closed pipe): the message has nowhere to go, and serving goes on.
        }
    }

    private static int Priority(LogLevel level) => level switch
    {
        LogLevel.Critical or LogLevel.Error => Error,
        LogLevel.Warning => Warning,
        LogLevel.Information => Info,
        _ => Debug,
    };

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    [GeneratedRegex(@"\s*[\r\n]+\s*")]
    private static partial Regex LineBreaks();
}
