using Microsoft.DurableTask;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Looks in the container for the blobs of slots whose landing notification never arrived, so a lost notification
/// cannot fail or hang a round whose work is done.
/// </summary>
public sealed class ReconcileLandingsActivity(SoupStorage storage, LandingReader reader) : TaskActivity<ReconcileRequest, IReadOnlyList<LandingNotice>>
{
    /// <inheritdoc />
    public override async Task<IReadOnlyList<LandingNotice>> RunAsync(TaskActivityContext context, ReconcileRequest input)
    {
        var found = new List<LandingNotice>();
        foreach (var slot in input.Slots)
        {
            await foreach (var blob in storage.Checkpoints.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{input.PipelineId}/{slot}/", CancellationToken.None))
            {
                if (CheckpointLayout.Parse(blob.Name) is { } landed && landed.Slot == slot)
                {
                    found.Add(await reader.ToNoticeAsync(landed));
                    break;
                }
            }
        }

        return found;
    }
}
