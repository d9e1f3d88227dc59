using DirectFuse.Session;

namespace DirectFuse.LowLevel;

/// <summary>
/// What the kernel offered at INIT and what this server will use. <see cref="LowLevelFileSystem.Init"/> sees it
/// before the reply is sent and may change <see cref="Want"/> and the limits; afterwards it describes the
/// live connection and gives access to notifications and backing files.
/// </summary>
public sealed class FuseConnection
{
    internal FuseConnection(FuseSessionCore core) => Core = core;

    internal FuseSessionCore Core { get; }

    /// <summary>The kernel's FUSE protocol major version (7).</summary>
    public uint KernelMajor { get; internal set; }
    /// <summary>
    /// The kernel's FUSE protocol minor version, before negotiation (<see cref="ProtocolMinor"/> is what is spoken).
    /// </summary>
    public uint KernelMinor { get; internal set; }
    /// <summary>The protocol minor both sides speak: min(kernel, 45).</summary>
    public uint ProtocolMinor { get; internal set; }
    /// <summary>Capabilities the kernel offered.</summary>
    public InitFlags Offered { get; internal set; }
    /// <summary>Capabilities this server asks for; only those also offered are sent.</summary>
    public InitFlags Want { get; set; }
    /// <summary>Capabilities in force after INIT (offered ∩ wanted).</summary>
    public InitFlags Negotiated { get; internal set; }

    /// <summary>
    /// Most bytes the kernel reads ahead per file; the kernel's offer, which <see cref="LowLevelFileSystem.Init"/> may
    /// lower.
    /// </summary>
    public uint MaxReadahead { get; set; }
    /// <summary>
    /// Largest WRITE in bytes (the session's <c>MaxWrite</c>, at most the request buffer); may be lowered in
    /// <see cref="LowLevelFileSystem.Init"/>.
    /// </summary>
    public uint MaxWrite { get; set; }
    /// <summary>Maximum bytes per READ (the mount's max_read, or max_pages pages).</summary>
    public uint MaxRead { get; internal set; }
    /// <summary>Most pages in one request (FUSE_MAX_PAGES): <see cref="MaxWrite"/> in pages before <see cref="LowLevelFileSystem.Init"/>, which may lower it; it bounds READ sizes.</summary>
    public ushort MaxPages { get; set; }
    /// <summary>Most background requests (readahead, writeback) the kernel keeps pending at once.</summary>
    public ushort MaxBackground { get; set; } = 64;
    /// <summary>
    /// Pending background requests at which the kernel counts the connection as congested and holds back.
    /// </summary>
    public ushort CongestionThreshold { get; set; } = 48;
    /// <summary>Timestamp granularity in nanoseconds (1 = full precision).</summary>
    public uint TimeGranularity { get; set; } = 1;
    /// <summary>For passthrough: how many stacked file systems may sit below the backing files (1 or 2).</summary>
    public uint MaxStackDepth { get; set; } = 1;

    /// <summary>
    /// The options the file system is mounted with (null for a CUSE device): whether other users can reach it
    /// (<c>allow_other</c>) and whether the kernel checks permissions first (<c>default_permissions</c>) decide
    /// what a file system that keeps owners must do itself (see <see cref="Permissions"/>).
    /// </summary>
    public Session.MountOptions? MountOptions => Core.MountOptions;

    /// <summary>True when other users (with allow_root: root) reach the mount and nothing but the file system checks their permissions.</summary>
    public bool ServerChecksOtherUsers => MountOptions is { DefaultPermissions: false } m && (m.AllowOther || m.AllowRoot);

    /// <summary>True when all of <paramref name="flag"/> was negotiated (is in <see cref="Negotiated"/>).</summary>
    public bool Has(InitFlags flag) => (Negotiated & flag) == flag;
    /// <summary>True when the kernel offered all of <paramref name="flag"/> (it is in <see cref="Offered"/>).</summary>
    public bool Offers(InitFlags flag) => (Offered & flag) == flag;

    /// <summary>Server-to-kernel notifications (cache invalidation, store, retrieve, poll wake-ups).</summary>
    public FuseNotifier Notifier => Core.Notifier;

    /// <summary>
    /// Asks for FUSE passthrough, with <paramref name="maxStackDepth"/> (1 or 2; null keeps <see cref="MaxStackDepth"/>), when the kernel offers it and
    /// this process may register backing files (CAP_SYS_ADMIN); gives up the writeback cache, whose negotiation
    /// would disable passthrough. Otherwise leaves <see cref="Want"/> alone and says why in <paramref name="whyNot"/>.
    /// </summary>
    public bool TryRequestPassthrough(out string whyNot, uint? maxStackDepth = null)
    {
        if (!Offers(InitFlags.Passthrough))
        {
            whyNot = "the kernel offers no FUSE passthrough (needs Linux 6.9+)";
            return false;
        }
        if (!Interop.Capabilities.HasSysAdmin())
        {
            whyNot = "registering backing files needs CAP_SYS_ADMIN";
            return false;
        }
        Want = (Want | InitFlags.Passthrough) & ~InitFlags.WritebackCache;
        MaxStackDepth = Math.Clamp(maxStackDepth ?? MaxStackDepth, 1u, 2u);
        whyNot = "";
        return true;
    }

    /// <summary>
    /// Registers <paramref name="fd"/> as a backing file for passthrough opens. Needs CAP_SYS_ADMIN and a
    /// negotiated <see cref="InitFlags.Passthrough"/>.
    /// </summary>
    public BackingFile OpenBackingFile(Microsoft.Win32.SafeHandles.SafeFileHandle fd) => Core.OpenBackingFile(fd);

    /// <summary>Kernel and protocol version, max_write and negotiated capabilities, for logs.</summary>
    public override string ToString() =>
        $"kernel {KernelMajor}.{KernelMinor}, protocol 7.{ProtocolMinor}, max_write {MaxWrite}, flags {Negotiated}";
}
