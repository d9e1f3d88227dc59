namespace DirectFuse.DirectMmap;

/// <summary>A <c>regions</c> query that got no report, with a one-line reason fit for the user.</summary>
public sealed class RegionReportException(string message) : Exception(message);
