using System.Collections.Concurrent;
using Azure;
using Soup.Core.Storage;

namespace Soup.Jobs;

/// <summary>
/// Tells whether a pipeline was cancelled: its <see cref="CancellationMarker"/> exists. A marker once seen is remembered
/// (a cancellation is never undone); an absent one is looked up again at every call.
/// </summary>
internal sealed class PipelineCancellationCheck(SoupStorage storage)
{
    private readonly ConcurrentDictionary<string, bool> cancelled = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="pipelineId"/> has a cancellation marker.</summary>
    public async Task<bool> IsCancelledAsync(string pipelineId, CancellationToken cancellationToken)
    {
        if (cancelled.ContainsKey(pipelineId))
            return true;
        if (!await storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(pipelineId)).ExistsAsync(cancellationToken))
            return false;
        cancelled.TryAdd(pipelineId, true);
        return true;
    }

    /// <summary>
    /// Cancels <paramref name="job"/> once the pipeline's marker appears, checking every <paramref name="period"/> until
    /// <paramref name="stop"/> fires. Storage errors (an outage too) skip a check: a missed check only delays the drop.
    /// </summary>
    public async Task WatchAsync(string pipelineId, CancellationTokenSource job, TimeSpan period, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    if (await IsCancelledAsync(pipelineId, stop))
                    {
                        await job.CancelAsync();
                        return;
                    }
                }
                catch (Exception ex) when (ex is RequestFailedException || StorageRetry.IsTransient(ex, stop))
                {
                    // Try again at the next tick.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
