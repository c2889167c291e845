using System.Collections.Concurrent;
using Azure;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Jobs;

/// <summary>
/// Tells whether a job is no longer wanted: its pipeline has a <see cref="CancellationMarker"/> (cancelled, or ended
/// without success), or its own slot has one (a stage went on without it). A marker once seen is remembered (a
/// cancellation is never undone); an absent one is looked up again at every call.
/// </summary>
internal sealed class PipelineCancellationCheck(SoupStorage storage)
{
    private readonly ConcurrentDictionary<string, bool> _cancelled = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="job"/>'s pipeline or slot has a cancellation marker.</summary>
    public async Task<bool> IsCancelledAsync(Job job, CancellationToken cancellationToken) =>
        await HasMarkerAsync(CancellationMarker.BlobName(job.PipelineId), cancellationToken)
        || await HasMarkerAsync(CancellationMarker.BlobName(job.PipelineId, job.Slot), cancellationToken);

    /// <summary>
    /// Cancels <paramref name="running"/> once a marker for <paramref name="job"/> appears, checking every
    /// <paramref name="period"/> until <paramref name="stop"/> fires. Storage errors skip a check: a missed check only
    /// delays the drop.
    /// </summary>
    public async Task WatchAsync(Job job, CancellationTokenSource running, TimeSpan period, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    if (await IsCancelledAsync(job, stop))
                    {
                        await running.CancelAsync();
                        return;
                    }
                }
                catch (Exception ex) when (ex is RequestFailedException || StorageRetry.IsTransient(ex, stop))
                {
                    // Try again at the next tick (storage down too).
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> HasMarkerAsync(string blobName, CancellationToken cancellationToken)
    {
        if (_cancelled.ContainsKey(blobName))
            return true;
        if (!await storage.Checkpoints.GetBlobClient(blobName).ExistsAsync(cancellationToken))
            return false;
        _cancelled.TryAdd(blobName, true);
        return true;
    }
}
