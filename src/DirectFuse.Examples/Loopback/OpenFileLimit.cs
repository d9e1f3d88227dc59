namespace DirectFuse.Examples.Loopback;

/// <summary>
/// The loopback server holds one O_PATH descriptor per inode the kernel knows, so a walk of a big tree needs as
/// many descriptors as it has entries still cached by the kernel. The soft RLIMIT_NOFILE (often 1024) is a
/// default for ordinary programs, not a decision about this server: it is raised to the hard limit, which only
/// an administrator sets. Past that, lookups answer EMFILE and the inode table is left as it was.
/// </summary>
/// <remarks>
/// The CoreCLR host happens to raise the soft limit at start-up as well; the server does it itself so as not to
/// depend on how it is hosted, and reads the limit back to report the ceiling.
/// </remarks>
internal static unsafe class OpenFileLimit
{
    /// <summary>Raises the soft limit to the hard one; returns the soft limit in force afterwards (0 if unknown).</summary>
    public static ulong RaiseToHard()
    {
        NativeMethods.RLimit limit;
        if (NativeMethods.getrlimit(NativeMethods.RLIMIT_NOFILE, &limit) < 0) return 0;
        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            // Refused (a seccomp policy, say): the server still works, only with the lower ceiling it reports.
            if (NativeMethods.setrlimit(NativeMethods.RLIMIT_NOFILE, &raised) == 0) limit = raised;
        }
        return limit.Current;
    }
}
