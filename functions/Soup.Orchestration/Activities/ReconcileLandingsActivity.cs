using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Looks in the container for the blobs of slots whose landing notification never arrived, so a lost notification
/// cannot fail or hang a round whose work is done. Lists each stage folder once (not once per slot), and prefers a
/// job's output to a failure record when both are there.
/// </summary>
public sealed class ReconcileLandingsActivity(SoupStorage storage, LandingReader reader) : TaskActivity<ReconcileRequest, IReadOnlyList<LandingNotice>>
{
    /// <inheritdoc />
    public override async Task<IReadOnlyList<LandingNotice>> RunAsync(TaskActivityContext context, ReconcileRequest input)
    {
        var wanted = input.Slots.ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<string, LandedBlob>(StringComparer.Ordinal);
        foreach (var folder in input.Slots.Select(Folder).Distinct(StringComparer.Ordinal))
        {
            await foreach (var blob in storage.Checkpoints.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{input.PipelineId}/{folder}/", CancellationToken.None))
            {
                if (CheckpointLayout.Parse(blob.Name) is { } landed && landed.PipelineId == input.PipelineId && wanted.Contains(landed.Slot)
                    && (!found.TryGetValue(landed.Slot, out var earlier) || earlier.Kind == LandingKind.Failure))
                {
                    found[landed.Slot] = landed;
                }
            }
        }

        var notices = new List<LandingNotice>();
        foreach (var slot in input.Slots.Where(found.ContainsKey))
        {
            notices.Add(await reader.ToNoticeAsync(found[slot]));
        }

        return notices;
    }

    private static string Folder(string slot) => slot.Split('/')[0];
}
