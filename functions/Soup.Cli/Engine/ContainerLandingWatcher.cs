using System.Collections.Concurrent;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Cli.Engine;

/// <summary>
/// The local stand-in for the Functions blob trigger: hands every blob it has not seen (by name and ETag) to the same
/// <see cref="CheckpointLandingHandler"/> the trigger calls. Each poll lists only the folders of pipelines with jobs
/// outstanding (it hears dispatches as an <see cref="IJobDispatchObserver"/>), so its cost does not grow with the
/// finished pipelines in the container; a full listing at start and every <see cref="FullScanInterval"/> catches the
/// rest (jobs dispatched before a restart). New landings are handled a few at a time.
/// </summary>
internal sealed partial class ContainerLandingWatcher(
    SoupStorage storage,
    CheckpointLandingHandler handler,
    DurableTaskClient client,
    LocalEngineOptions options,
    ILogger<ContainerLandingWatcher> logger) : BackgroundService, IJobDispatchObserver
{
    /// <summary>How often the whole container is listed.</summary>
    public static readonly TimeSpan FullScanInterval = TimeSpan.FromSeconds(15);

    /// <summary>A pipeline with no dispatch for this long is no longer listed on its own (its jobs were given up).</summary>
    private static readonly TimeSpan LiveFor = TimeSpan.FromHours(24);

    private const int Concurrency = 16;

    private readonly ConcurrentDictionary<string, bool> seen = new();

    /// <summary>Pipelines with outstanding jobs: their slots not yet landed, and when they last dispatched.</summary>
    private readonly ConcurrentDictionary<string, (ConcurrentDictionary<string, bool> Slots, DateTimeOffset Last)> live = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public void Dispatched(IReadOnlyList<Job> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var group in jobs.GroupBy(j => j.PipelineId, StringComparer.Ordinal))
        {
            var entry = live.GetOrAdd(group.Key, _ => (new ConcurrentDictionary<string, bool>(StringComparer.Ordinal), DateTimeOffset.UtcNow));
            foreach (var job in group)
                entry.Slots[job.Slot] = true;
            live[group.Key] = (entry.Slots, DateTimeOffset.UtcNow);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.LandingPollInterval);
        var lastFull = DateTimeOffset.MinValue;
        do
        {
            try
            {
                var full = DateTimeOffset.UtcNow - lastFull >= FullScanInterval;
                await ScanAsync(full ? [""] : LivePrefixes(), stoppingToken);
                if (full)
                    lastFull = DateTimeOffset.UtcNow;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogScanFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private List<string> LivePrefixes()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, entry) in live)
        {
            if (entry.Slots.IsEmpty || now - entry.Last > LiveFor)
                live.TryRemove(id, out _);
        }

        return [.. live.Keys.Select(id => id + "/")];
    }

    private async Task ScanAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken)
    {
        var landed = new List<(string Name, string Key)>();
        foreach (var prefix in prefixes)
        {
            await foreach (var blob in storage.Checkpoints.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix.Length == 0 ? null : prefix, cancellationToken))
            {
                var key = blob.Name + "|" + blob.Properties.ETag;
                if (!seen.ContainsKey(key) && CheckpointLayout.Parse(blob.Name) is not null)
                    landed.Add((blob.Name, key));
            }
        }

        await Parallel.ForEachAsync(landed, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (blob, ct) =>
        {
            await handler.HandleAsync(client, blob.Name, ct);
            seen[blob.Key] = true;
            if (CheckpointLayout.Parse(blob.Name) is { } parsed && live.TryGetValue(parsed.PipelineId, out var entry))
                entry.Slots.TryRemove(parsed.Slot, out _);
        });
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Listing the checkpoints container failed; retrying")]
    private static partial void LogScanFailed(ILogger logger, Exception exception);
}
