using System.Text.Json;
using Azure;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Where a pipeline's report is written, and the orchestration's step that writes it (<see cref="TaskNames.WriteReport"/>)
/// when the pipeline completes or fails.
/// </summary>
public static class PipelineReports
{
    /// <summary>The report's file name in the pipeline's folder of the reports container.</summary>
    public const string FileName = "report.html";

    /// <summary>The report's blob name in the reports container: <c>{pipelineId}/report.html</c>.</summary>
    public static string BlobName(string pipelineId) => $"{pipelineId}/{FileName}";

    /// <summary>The stored result's file name, next to the report.</summary>
    public const string ResultFileName = "result.json";

    /// <summary>
    /// The pipeline's result as it ended, in the reports container: <c>{pipelineId}/result.json</c>, the status view the
    /// report was rendered from, with every completed round in full, also when the pipeline failed. What every renderer
    /// of an ended pipeline reads (<see cref="PipelineStatusReader"/>).
    /// </summary>
    public static string ResultBlobName(string pipelineId) => $"{pipelineId}/{ResultFileName}";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Stores <paramref name="view"/> (its rounds in full) as the pipeline's <see cref="ResultBlobName"/>, replacing an earlier copy.</summary>
    public static async Task StoreResultAsync(SoupStorage storage, PipelineStatusView view, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(view);
        await storage.Reports.GetBlobClient(ResultBlobName(view.Id)).UploadAsync(
            BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(view, Json)), overwrite: true, cancellationToken);
    }

    /// <summary>The stored result of pipeline <paramref name="pipelineId"/>; null when none was stored (it has not ended, or its report step failed).</summary>
    public static async Task<PipelineStatusView?> ReadResultAsync(SoupStorage storage, string pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        try
        {
            var content = await storage.Reports.GetBlobClient(ResultBlobName(pipelineId)).DownloadContentAsync(cancellationToken);
            return JsonSerializer.Deserialize<PipelineStatusView>(content.Value.Content, Json);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the report of the pipeline running in <paramref name="context"/> as it stands: <paramref name="status"/>
    /// (<c>Completed</c> or <c>Failed</c>), its last progress, its result or the rounds done so far, and the failure.
    /// A report that cannot be written is logged and does not fail the pipeline: the checkpoints are what it delivers,
    /// and <c>GET /api/pipelines/{id}/report</c> renders the report again on demand.
    /// </summary>
    public static async Task WriteAsync(
        TaskOrchestrationContext context, DateTimeOffset startedAt, string status, PipelineProgress progress, PipelineResult result, Soup.Core.Specs.RetrySpec? retry, string? failure = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var view = new PipelineStatusView(context.InstanceId, status, startedAt, context.CurrentUtcDateTime, progress, result, failure);
        try
        {
            await context.CallActivityAsync<string>(TaskNames.WriteReport, view, ActivityRetry.Options(retry));
        }
        catch (TaskFailedException ex)
        {
            context.CreateReplaySafeLogger(typeof(PipelineReports)).LogWarning(
                "Pipeline {PipelineId}: the report was not written: {Reason}", context.InstanceId, ex.FailureDetails?.ErrorMessage ?? ex.Message);
        }
    }
}
