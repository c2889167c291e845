using System.Text.Json;
using Azure;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Reads the progress reports (<c>progress.json</c>) that training jobs write into their slots, for the status API and
/// the CLI. Reports are informative: an unreadable one is skipped, never an error.
/// </summary>
public sealed class JobProgressReader(SoupStorage storage)
{
    /// <summary>The reports of the jobs of one stage of a pipeline (round 0: the init stage), by slot order.</summary>
    public async Task<IReadOnlyList<JobProgress>> ReadAsync(string pipelineId, int round, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipelineId);
        var prefix = $"{pipelineId}/{CheckpointLayout.StageFolder(round)}/";
        var reports = new List<JobProgress>();
        await foreach (var blob in storage.Checkpoints.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, cancellationToken))
        {
            if (!blob.Name.EndsWith("/" + CheckpointLayout.ProgressFile, StringComparison.Ordinal))
                continue;
            try
            {
                var content = (await storage.Checkpoints.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken)).Value.Content;
                if (JsonSerializer.Deserialize(content.ToMemory().Span, SoupJson.Default.JobProgress) is { } report)
                    reports.Add(report);
            }
            catch (Exception ex) when (ex is RequestFailedException or JsonException)
            {
                // Overwritten or removed while we read it: skip it this time.
            }
        }

        return [.. reports.OrderBy(r => r.JobId, StringComparer.Ordinal)];
    }
}
