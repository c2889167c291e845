using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

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
