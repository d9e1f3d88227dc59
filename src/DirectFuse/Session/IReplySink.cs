namespace DirectFuse.Session;

/// <summary>
/// Where a request's reply goes: the fd it was read from (/dev/fuse, a clone, /dev/cuse, a test socket), or the
/// io_uring ring entry it was delivered in. The dispatcher builds replies the same way for both; only this
/// last step differs.
/// </summary>
internal interface IReplySink
{
    /// <summary>
    /// Memory of the sink's own where a handler may write a reply payload in place (a ring entry's payload
    /// buffer), at least as large as the connection's largest reply; empty when replies are built in the
    /// request's buffer (an fd).
    /// </summary>
    Memory<byte> PayloadArea { get; }

    /// <summary>
    /// Sends one reply: <paramref name="message"/> is the 16-byte out header followed by the payload, or the
    /// header alone when the payload (<paramref name="payloadLength"/> bytes) was written in
    /// <see cref="PayloadArea"/>. Returns 0 or -errno; never throws, it runs on every request.
    /// </summary>
    int Send(ReadOnlySpan<byte> message, int payloadLength);
}
