using System.Collections.Concurrent;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Local;

/// <summary>
/// The local stand-in for the Functions blob trigger: hands every blob it has not seen (by name and ETag) to the same
/// <see cref="CheckpointLandingHandler"/> the trigger calls. Each poll lists only the folders of pipelines with jobs
/// outstanding (it hears dispatches as an <see cref="IJobDispatchObserver"/>), so its cost does not grow with the
/// finished pipelines in the container; a full pass at start and every <see cref="LocalEngineOptions.LandingFullScanInterval"/> catches the
/// rest (jobs dispatched before a restart): it asks the task hub which pipelines are running and lists their folders,
/// never the whole container (on Azurite, a listing's cost grows with every blob in the container, delimited or not),
/// so it too costs the same with 50 finished pipelines present as with none. The landings one listing finds in a stage go as one event
/// (<see cref="CheckpointLandingHandler.HandleManyAsync"/>); pipelines are handled a few at a time.
/// </summary>
internal sealed partial class ContainerLandingWatcher(
    SoupStorage storage,
    CheckpointLandingHandler handler,
    DurableTaskClient client,
    LocalEngineOptions options,
    ILogger<ContainerLandingWatcher> logger) : BackgroundService, IJobDispatchObserver
{
    /// <summary>A pipeline with no dispatch for this long is no longer listed on its own (its jobs were given up).</summary>
    private static readonly TimeSpan LiveFor = TimeSpan.FromHours(24);

    private const int Concurrency = 16;

    private readonly ConcurrentDictionary<string, bool> _seen = new();


    /// <summary>Pipelines with outstanding jobs: their slots not yet landed, and when they last dispatched.</summary>
    private readonly ConcurrentDictionary<string, (ConcurrentDictionary<string, bool> Slots, DateTimeOffset Last)> _live = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public void Dispatched(IReadOnlyList<Job> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var group in jobs.GroupBy(j => j.PipelineId, StringComparer.Ordinal))
        {
            var entry = _live.GetOrAdd(group.Key, _ => (new ConcurrentDictionary<string, bool>(StringComparer.Ordinal), DateTimeOffset.UtcNow));
            foreach (var job in group)
                entry.Slots[job.Slot] = true;
            _live[group.Key] = (entry.Slots, DateTimeOffset.UtcNow);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastFull = DateTimeOffset.MinValue;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var pause = TimeSpan.Zero;
            try
            {
                var full = DateTimeOffset.UtcNow - lastFull >= options.LandingFullScanInterval;
                await ScanAsync(full ? await RunningFoldersAsync(stoppingToken) : LivePrefixes(), stoppingToken);
                if (full)
                    lastFull = DateTimeOffset.UtcNow;
                failures = 0;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The watcher serves every pipeline, so it never gives up; but a storage that refuses (403, 400) or is
                // down is asked again less and less often (1 s doubling to 30 s), not every poll.
                pause = StorageRetry.Default.Delay(++failures);
                LogScanFailed(logger, ex is Azure.RequestFailedException r ? StorageError.Summary(r) : ex.GetType().Name, failures, pause, ex);
            }

            // A listing's cost grows with what it lists: rest at least as long as it took, so that listings never take
            // more than half of the storage's time (on Azurite, one process, they starved the merge's reads).
            await Task.Delay(Max(Max(options.LandingPollInterval - clock.Elapsed, clock.Elapsed), pause), stoppingToken);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// What to list: for each pipeline with jobs outstanding, the longest common prefix of those jobs' folders (a
    /// round's members: <c>{id}/round-01/member-</c>; its evaluation alone: <c>{id}/round-01/eval/</c>, a few blobs
    /// instead of every member's).
    /// </summary>
    private List<string> LivePrefixes()
    {
        var now = DateTimeOffset.UtcNow;
        var prefixes = new List<string>();
        foreach (var (id, entry) in _live)
        {
            if (entry.Slots.IsEmpty || now - entry.Last > LiveFor)
            {
                _live.TryRemove(id, out _);
                continue;
            }

            prefixes.Add(id + "/" + CommonPrefix(entry.Slots.Keys.Select(slot => slot + "/")));
        }

        return prefixes;
    }

    /// <summary>
    /// The full pass's prefixes: the folder (<c>{id}/</c>) of every pipeline the task hub has running or pending, found
    /// by a query of the instances rather than a listing of the container.
    /// </summary>
    private async Task<List<string>> RunningFoldersAsync(CancellationToken cancellationToken) =>
        [.. (await PipelineStarter.RunningPipelinesAsync(client, cancellationToken)).Select(id => id + "/")];

    /// <summary>The longest prefix all of <paramref name="folders"/> share.</summary>
    internal static string CommonPrefix(IEnumerable<string> folders)
    {
        string? prefix = null;
        foreach (var folder in folders)
        {
            if (prefix is null)
            {
                prefix = folder;
                continue;
            }

            var length = 0;
            var max = Math.Min(prefix.Length, folder.Length);
            while (length < max && prefix[length] == folder[length])
                length++;
            prefix = prefix[..length];
        }

        return prefix ?? "";
    }

    private async Task ScanAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken)
    {
        var landed = new List<(string Name, string Key, IDictionary<string, string> Metadata)>();
        foreach (var prefix in prefixes)
        {
            // With their metadata: the landings' stamps are checked without a request per blob.
            await foreach (var blob in storage.Checkpoints.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix.Length == 0 ? null : prefix, cancellationToken))
            {
                var key = blob.Name + "|" + blob.Properties.ETag;
                if (!_seen.ContainsKey(key) && CheckpointLayout.Parse(blob.Name) is not null)
                    landed.Add((blob.Name, key, blob.Metadata));
            }
        }

        // One event per stage (and per LandingNotice.MaxPerEvent) for what this listing found: a landing costs one
        // queue message and one history event only when it comes alone. Pipelines are handled a few at a time.
        await Parallel.ForEachAsync(landed.GroupBy(b => b.Name[..b.Name.IndexOf('/', StringComparison.Ordinal)], StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (pipeline, ct) =>
        {
            await handler.HandleManyAsync(client, pipeline.Select(b => new ListedBlob(b.Name, b.Metadata)), ct);
            foreach (var blob in pipeline)
            {
                _seen[blob.Key] = true;
                if (CheckpointLayout.Parse(blob.Name) is { } parsed && _live.TryGetValue(parsed.PipelineId, out var entry))
                    entry.Slots.TryRemove(parsed.Slot, out _);
            }
        });
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Listing the checkpoints container failed ({Error}, {Failures} time(s) in a row); next try in {Pause}")]
    private static partial void LogScanFailed(ILogger logger, string error, int failures, TimeSpan pause, Exception exception);
}
