namespace DirectFuse.Tests.Observability;

/// <summary>
/// Tests that attach process-wide telemetry listeners (a <see cref="System.Diagnostics.Metrics.MeterListener"/>,
/// an <see cref="System.Diagnostics.ActivityListener"/>) and the allocation tests they would disturb: a listener
/// enabled by one test runs its callbacks on every session's worker threads, so these run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalListeners
{
    public const string Name = "Global telemetry listeners";
}
