using DirectFuse.DirectMmap;
using DirectFuse.Devices;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.OssDsp;

/// <summary>
/// An OSS playback device (/dev/dsp) in the spirit of the 2010 CUSE thread's OSS emulator: write(2) playback
/// paced in real time, and mmap playback of a fragment ring that old games (Quake and friends) fill ahead of
/// the GETOPTR pointer. Played samples go to a <see cref="WavSink"/>. One open at a time, as OSS drivers do.
/// </summary>
/// <remarks>
/// <para><b>Stream or mmap.</b> There is no mmap request in FUSE, so the device cannot see a client map the
/// buffer. An open that enables output with SETTRIGGER before writing anything is taken as an mmap client:
/// the player then consumes the ring at the sample rate whatever it holds, like DMA does. Otherwise playback
/// consumes what write(2) queued; an underrun is a pause, not silence, so the WAV holds exactly what was written.</para>
/// <para><b>Passthrough mmap.</b> With <see cref="DirectMmapMode.Passthrough"/> only O_RDWR opens map the
/// buffer (their read and write go to the buffer, see <see cref="DeviceBuffer"/>); O_WRONLY opens keep write(2).</para>
/// </remarks>
public sealed partial class OssDspDevice : CharacterDevice, IDisposable
{
    /// <summary>Largest buffer (fragments × fragment size) and the size of the mapped ring.</summary>
    public const int MaxBufferSize = 64 * 1024;
    private const int DefaultFragSize = 4096, DefaultFragments = 16;
    private static readonly PcmFormat DefaultFormat = new(8000, 1, 8); // OSS's power-on default: 8 kHz mono U8

    private readonly Lock _lock = new();
    private readonly DeviceBuffer? _buffer;
    private readonly WavSink _sink;
    private readonly byte[] _queue = new byte[MaxBufferSize];
    private readonly HashSet<PollWaiter> _pollWaiters = [];
    private TaskCompletionSource _progress = NewSignal();
    private DeviceFile? _owner;

    // Per-open state (reset at every open), guarded by _lock.
    private int _afmt;
    private PcmFormat _format;
    private int _fragSize, _fragments;
    private bool _outputEnabled, _mmapPlayback, _wroteStream;
    private int _queueHead, _queued;
    private long _played, _blocksReported;

    public OssDspDevice(WavSink sink, bool mmap = true)
    {
        _sink = sink;
        if (mmap) _buffer = new DeviceBuffer(MaxBufferSize);
        ResetOpenState();
        _player = new Thread(PlayerLoop) { IsBackground = true, Name = "ossdsp-player" };
        _player.Start();
    }

    public override DeviceBuffer? Buffer => _buffer;

    /// <summary>Bytes played into the sink so far.</summary>
    public long BytesPlayed { get { lock (_lock) return _totalPlayed; } }

    /// <summary>Whether a client has the device open (RELEASE not yet seen).</summary>
    public bool IsOpen { get { lock (_lock) return _owner is not null; } }

    /// <summary>Times write playback ran dry while output was enabled (a real card would have clicked).</summary>
    public long Underruns { get { lock (_lock) return _underruns; } }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int BufferSize => _fragSize * _fragments;
    private int FreeBytes => BufferSize - _queued;

    private void ResetOpenState()
    {
        _afmt = Oss.AfmtU8;
        _format = DefaultFormat;
        _fragSize = DefaultFragSize;
        _fragments = DefaultFragments;
        _outputEnabled = true;
        _mmapPlayback = false;
        _wroteStream = false;
        ResetPlayback();
    }

    /// <summary>SNDCTL_DSP_RESET: drop queued data, stop mmap playback, restart the counters.</summary>
    private void ResetPlayback()
    {
        _queueHead = 0;
        _queued = 0;
        _played = 0;
        _blocksReported = 0;
        _mmapPlayback = false;
        _clockStarted = false;
        SignalProgress();
    }

    public override ValueTask<Result<DeviceFile>> OpenAsync(FuseContext caller, int flags, CancellationToken cancellationToken)
    {
        var file = new DeviceFile(flags);
        lock (_lock)
        {
            if (_owner is not null) return new(Errno.EBUSY);
            _owner = file;
            ResetOpenState();
            _buffer?.Span.Clear(); // a fresh "DMA buffer": nothing of the previous client plays
        }
        return new(file);
    }

    public override bool MapsBuffer(DeviceFile file, DirectMmapMode mode) =>
        _buffer is not null && (mode != DirectMmapMode.Passthrough || file.AccessMode == 2);

    public override async ValueTask<Result<int>> WriteAsync(DeviceFile file, ReadOnlyMemory<byte> data, DeviceIo io, CancellationToken cancellationToken)
    {
        int taken = 0;
        while (true)
        {
            Task progress;
            lock (_lock)
            {
                if (_owner != file) return Errno.EBADF;
                _wroteStream = true;
                int n = Math.Min(FreeBytes, data.Length - taken);
                n -= n % _format.FrameSize; // whole frames only, so channels never swap
                if (n <= 0 && data.Length - taken < _format.FrameSize) n = data.Length - taken; // a trailing partial frame
                if (n > 0)
                {
                    Enqueue(data.Span.Slice(taken, n));
                    taken += n;
                }
                if (taken == data.Length) return taken;
                if (io.NonBlocking) return taken > 0 ? taken : Errno.EAGAIN;
                progress = _progress.Task;
            }
            try
            {
                await progress.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (taken > 0)
            {
                return taken; // interrupted after a part: write(2) returns the part, as a driver does
            }
        }
    }

    private void Enqueue(ReadOnlySpan<byte> data)
    {
        int tail = (_queueHead + _queued) % _queue.Length;
        int first = Math.Min(data.Length, _queue.Length - tail);
        data[..first].CopyTo(_queue.AsSpan(tail));
        data[first..].CopyTo(_queue);
        _queued += data.Length;
    }

    /// <summary>close(2) drains what is queued, in real time, as OSS drivers do; a signal (or kill) cuts it short.</summary>
    public override async ValueTask<Errno> FlushAsync(DeviceFile file, CancellationToken cancellationToken)
    {
        try
        {
            await DrainAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_lock) if (_owner == file) ResetPlayback();
        }
        return Errno.Ok;
    }

    private async Task DrainAsync(DeviceFile file, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task progress;
            lock (_lock)
            {
                if (_owner != file || _mmapPlayback || _queued == 0) return;
                // Data parked behind a disabled trigger would never play: drop it instead of hanging.
                if (!_outputEnabled) { ResetPlayback(); return; }
                progress = _progress.Task;
            }
            await progress.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The last close. Over CUSE no FLUSH came, so what is queued is played out here — at most the buffer's
    /// length in real time, and never longer than <see cref="ReleaseDrainLimit"/>, because the closing process
    /// waits for this and cannot be interrupted. Then the device is free for the next player.
    /// </summary>
    public override async ValueTask ReleaseAsync(DeviceFile file, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(ReleaseDrainLimit);
        try
        {
            await DrainAsync(file, bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cut short: what is still queued is dropped below.
        }
        lock (_lock)
        {
            if (_owner != file) return;
            ResetPlayback();
            _owner = null;
        }
    }

    /// <summary>The longest a release waits for queued output to play (64 KiB at 8 kHz mono 8-bit takes 8 s).</summary>
    public static readonly TimeSpan ReleaseDrainLimit = TimeSpan.FromSeconds(10);

    public override ValueTask<Result<PollEvents>> PollAsync(DeviceFile file, PollEvents requested, PollWaiter? waiter, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // POLLOUT once a whole fragment fits (mmap clients: always; they do not write).
            bool writable = _mmapPlayback || FreeBytes >= Math.Min(_fragSize, BufferSize);
            var ready = writable ? PollEvents.Out | PollEvents.WrNorm : PollEvents.None;
            ready &= requested;
            if (ready == PollEvents.None && waiter is not null) _pollWaiters.Add(waiter);
            return new(ready);
        }
    }

    /// <summary>Wakes blocked writers and drainers, and poll waiters when a fragment is free. Caller holds the lock.</summary>
    private void SignalProgress()
    {
        var old = _progress;
        _progress = NewSignal();
        old.TrySetResult();
        if (_pollWaiters.Count > 0 && FreeBytes >= Math.Min(_fragSize, BufferSize))
        {
            foreach (var w in _pollWaiters) w.Wake();
            _pollWaiters.Clear();
        }
    }

    public override void HostStopped()
    {
        lock (_lock)
        {
            _owner = null;
            ResetPlayback();
        }
    }

    public void Dispose()
    {
        _stopPlayer = true;
        _player.Join(TimeSpan.FromSeconds(5));
        _buffer?.Dispose();
    }
}
