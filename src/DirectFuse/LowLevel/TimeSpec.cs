namespace DirectFuse.LowLevel;

/// <summary>Seconds and nanoseconds since the Unix epoch, as the kernel keeps file times.</summary>
public readonly record struct TimeSpec(long Seconds, uint Nanoseconds)
{
    /// <summary>The current time (UTC) to 100 ns, the resolution of <see cref="DateTime"/>.</summary>
    public static TimeSpec Now
    {
        get
        {
            long ticks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
            return new TimeSpec(ticks / TimeSpan.TicksPerSecond, (uint)(ticks % TimeSpan.TicksPerSecond * 100));
        }
    }

    /// <summary>
    /// <paramref name="time"/> as seconds and nanoseconds since the epoch; local times are converted to UTC first.
    /// </summary>
    public static TimeSpec FromDateTime(DateTime time)
    {
        long ticks = time.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks;
        return new TimeSpec(Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem), (uint)(rem * 100));
    }

    /// <summary>This time as a UTC <see cref="DateTime"/> (truncated to 100 ns).</summary>
    public DateTime ToDateTime() =>
        DateTime.UnixEpoch.AddTicks(Seconds * TimeSpan.TicksPerSecond + Nanoseconds / 100);

    /// <summary>Seconds and nanoseconds as <c>seconds.nnnnnnnnn</c>.</summary>
    public override string ToString() => $"{Seconds}.{Nanoseconds:D9}";
}
