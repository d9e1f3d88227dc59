namespace DirectFuse.Session.Uring;

// Apart from the unsafe part: an async method cannot be compiled in an unsafe context.
internal sealed partial class FuseRingQueue
{
    /// <summary>Waits for a handler that went asynchronous, then gives its entry back to the queue thread to commit.</summary>
    private async Task HandBackWhenDone(ValueTask pending, FuseRingEntry entry)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        finally
        {
            _core.EndAsyncHandler();
            _handedBack.Enqueue(entry);
            Wake();
        }
    }
}
