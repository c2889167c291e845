namespace Soup.Local;

/// <summary>Settings of the local engine (the Durable Task engine on the Azure Storage provider, against Azurite).</summary>
public sealed class LocalEngineOptions
{
    /// <summary>The Durable task hub name (its queues, tables and lease container are prefixed with it).</summary>
    public string TaskHubName { get; set; } = "souplocal";

    /// <summary>The storage the Durable engine keeps its state in (Azurite locally).</summary>
    public string AzureWebJobsStorage { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>The provider polls its queues at most this far apart when idle (its default, 30 s, is slow locally).</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the container watcher lists the checkpoints container for landed blobs.</summary>
    public TimeSpan LandingPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the container watcher lists the whole container (between those, it lists only the folders of jobs it
    /// saw dispatched): the full listing finds jobs dispatched before the engine (re)started.
    /// </summary>
    public TimeSpan LandingFullScanInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How many workers run jobs in this process (0: none, jobs wait for external workers).</summary>
    public int InProcessWorkers { get; set; } = 1;

    /// <summary>
    /// How often the engine applies retention (<c>RetentionMemberDays</c>, <c>RetentionInstanceDays</c>) while it runs;
    /// zero (the default) never: use <c>pipeline retention</c>.
    /// </summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.Zero;
}
