using System.Diagnostics;
using DirectFuse.DirectMmap;

namespace DirectFuse.Examples.OssDsp;

// The "sound card": a thread that consumes the queue (write playback) or the mapped ring (mmap playback)
// at the sample rate and hands the samples to the sink.
public sealed partial class OssDspDevice
{
    private readonly Thread _player;
    private volatile bool _stopPlayer;
    private bool _clockStarted;
    private long _clockStart, _clockConsumed;
    private long _totalPlayed, _underruns;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(4);

    private void PlayerLoop()
    {
        var scratch = new byte[MaxBufferSize];
        while (!_stopPlayer)
        {
            Thread.Sleep(Tick);
            try
            {
                PlayDue(scratch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A failed pull (session ending) must not kill the card; the next tick tries again.
                PlayerFailed?.Invoke(e);
            }
        }
    }

    /// <summary>Raised when a tick of the player fails (for logging).</summary>
    public event Action<Exception>? PlayerFailed;

    private void PlayDue(byte[] scratch)
    {
        int n, ringPos, bufferSize;
        PcmFormat format;
        lock (_lock)
        {
            if (_owner is null || !_outputEnabled || (!_mmapPlayback && _queued == 0))
            {
                if (_clockStarted && _wroteStream && _queued == 0) _underruns++;
                _clockStarted = false;
                return;
            }
            long now = Stopwatch.GetTimestamp();
            if (!_clockStarted)
            {
                _clockStarted = true;
                _clockStart = now;
                _clockConsumed = 0;
            }
            format = _format;
            bufferSize = BufferSize;
            long due = (long)(Stopwatch.GetElapsedTime(_clockStart, now).TotalSeconds * format.BytesPerSecond);
            due -= due % format.FrameSize;
            // At most a fragment per tick: after a stall of this thread the clock catches up over a few ticks
            // instead of swallowing ring data a real-time client had no chance to paint yet.
            n = (int)Math.Min(due - _clockConsumed, Math.Max(_fragSize, format.BytesPerSecond / 50));
            if (!_mmapPlayback) n = Math.Min(n, _queued);
            if (n <= 0) return;
            ringPos = (int)(_played % bufferSize);
            if (!_mmapPlayback)
            {
                int first = Math.Min(n, _queue.Length - _queueHead);
                _queue.AsSpan(_queueHead, first).CopyTo(scratch);
                _queue.AsSpan(0, n - first).CopyTo(scratch.AsSpan(first));
                _queueHead = (_queueHead + n) % _queue.Length;
                _queued -= n;
                Advance(n);
                _sink.Write(scratch.AsSpan(0, n), format);
                return;
            }
        }
        // mmap playback: fetch the client's stores of the range about to play (page-cache mode), then "DMA" it.
        var buffer = _buffer!;
        int head = Math.Min(n, bufferSize - ringPos);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            buffer.PullAsync(ringPos, head, timeout.Token).GetAwaiter().GetResult();
            if (n > head) buffer.PullAsync(0, n - head, timeout.Token).GetAwaiter().GetResult();
        }
        lock (_lock)
        {
            if (!_mmapPlayback || _owner is null) return; // reset or closed meanwhile
            buffer.Span.Slice(ringPos, head).CopyTo(scratch);
            buffer.Span[..(n - head)].CopyTo(scratch.AsSpan(head));
            Advance(n);
            _sink.Write(scratch.AsSpan(0, n), format);
        }
    }

    /// <summary>Counts <paramref name="n"/> bytes as played. Caller holds the lock.</summary>
    private void Advance(int n)
    {
        _clockConsumed += n;
        _played += n;
        _totalPlayed += n;
        SignalProgress();
    }

    /// <summary>The mmap mode in force for the device's buffer (None when it has none).</summary>
    public DirectMmapMode MmapMode => _buffer?.Mode ?? DirectMmapMode.None;
}
