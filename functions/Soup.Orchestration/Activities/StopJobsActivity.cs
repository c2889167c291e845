using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Writes cancellation markers so workers drop jobs nobody awaits any more: the pipeline's own marker when it ended
/// without success, or one per slot a stage went on without. A marker that exists is left as it is (a user's
/// cancellation keeps its reason), so the activity is safe to repeat. Returns how many markers it wrote.
/// </summary>
public sealed class StopJobsActivity(SoupStorage storage, ILogger<StopJobsActivity> logger) : StorageActivity<StopJobsRequest, int>(logger)
{
    /// <inheritdoc />
    protected override async Task<int> RunCoreAsync(TaskActivityContext context, StopJobsRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var marker = new CancellationMarker(input.PipelineId, input.Reason, DateTimeOffset.UtcNow).ToJson();
        var blobs = input.Slots is null
            ? [CancellationMarker.BlobName(input.PipelineId)]
            : input.Slots.Select(slot => CancellationMarker.BlobName(input.PipelineId, slot));
        var written = 0;
        foreach (var blob in blobs)
        {
            if (await storage.TryCreateBlobAsync(blob, new MemoryStream(marker)))
                written++;
        }

        return written;
    }
}
