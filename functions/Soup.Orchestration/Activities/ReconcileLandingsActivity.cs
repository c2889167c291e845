using Microsoft.Extensions.Logging;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Looks in the container for the blobs of slots whose landing notification never arrived, so a lost notification
/// cannot fail or hang a round whose work is done. Lists each stage folder once (not once per slot), and prefers a
/// job's output to a failure record when both are there. Asked for heartbeats, it also reports each slot still missing
/// whose <c>progress.json</c> was written within the window (by the listing's Last-Modified: no extra reads) as
/// <see cref="LandingKind.Alive"/>. A blob whose <see cref="LandingStamp"/> is not its job's is not found.
/// </summary>
public sealed class ReconcileLandingsActivity(SoupStorage storage, LandingReader reader, ILogger<ReconcileLandingsActivity> logger) : StorageActivity<ReconcileRequest, IReadOnlyList<LandingNotice>>(logger)
{
    /// <inheritdoc />
    protected override async Task<IReadOnlyList<LandingNotice>> RunCoreAsync(TaskActivityContext context, ReconcileRequest input)
    {
        var wanted = input.Slots.ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<string, LandedBlob>(StringComparer.Ordinal);
        var heartbeats = new Dictionary<string, (string Blob, DateTimeOffset At)>(StringComparer.Ordinal);
        var now = DateTimeOffset.UtcNow;
        foreach (var folder in input.Slots.Select(Folder).Distinct(StringComparer.Ordinal))
        {
            await foreach (var blob in storage.Checkpoints.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, $"{input.PipelineId}/{folder}/", CancellationToken.None))
            {
                if (CheckpointLayout.Parse(blob.Name) is { } landed && landed.PipelineId == input.PipelineId && wanted.Contains(landed.Slot)
                    && (!found.TryGetValue(landed.Slot, out var earlier) || earlier.Kind == LandingKind.Failure))
                {
                    // Only the job's own output counts, as for a notified landing (its stamp, listed with the blob).
                    if (LandingStamp.Problem(landed, blob.Metadata, input.SpecHash) is null)
                        found[landed.Slot] = landed;
                }
                else if (input.HeartbeatWindow is not null && HeartbeatSlot(input.PipelineId, blob.Name) is { } slot && wanted.Contains(slot)
                    && blob.Properties.LastModified is { } modified)
                {
                    heartbeats[slot] = (blob.Name, modified);
                }
            }
        }

        var notices = new List<LandingNotice>();
        foreach (var slot in input.Slots)
        {
            if (found.TryGetValue(slot, out var landed))
                notices.Add(await reader.ToNoticeAsync(landed));
            else if (heartbeats.TryGetValue(slot, out var beat) && now - beat.At < input.HeartbeatWindow)
                notices.Add(new LandingNotice(slot, LandingKind.Alive, beat.Blob, null));
        }

        return notices;
    }

    private static string Folder(string slot) => slot.Split('/')[0];

    /// <summary>The slot of a <c>{pipeline}/{slot}/progress.json</c> blob, else null.</summary>
    private static string? HeartbeatSlot(string pipelineId, string blobName)
    {
        var prefix = pipelineId + "/";
        var suffix = "/" + CheckpointLayout.ProgressFile;
        return blobName.StartsWith(prefix, StringComparison.Ordinal) && blobName.EndsWith(suffix, StringComparison.Ordinal) && blobName.Length > prefix.Length + suffix.Length
            ? blobName[prefix.Length..^suffix.Length]
            : null;
    }
}
