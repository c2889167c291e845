namespace Soup.Jobs;

/// <summary>A job that cannot succeed however often it is retried (missing data, missing init, divergence).</summary>
public sealed class JobFailedException(string message, Exception? inner = null) : Exception(message, inner);
