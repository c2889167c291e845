using Microsoft.Extensions.Logging;
using System.Text;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Stores a pipeline's result as it ended (<see cref="PipelineReports.ResultBlobName"/>: its rounds in full, also on
/// failure) and renders its report from that same view to <c>{pipelineId}/report.html</c> in the reports container
/// (both replacing earlier copies, so a retried activity writes the same again); returns the report's blob name.
/// </summary>
public sealed class WriteReportActivity(SoupStorage storage, IPipelineReportRenderer renderer, ILogger<WriteReportActivity> logger) : StorageActivity<PipelineStatusView, string>(logger)
{
    /// <inheritdoc />
    protected override async Task<string> RunCoreAsync(TaskActivityContext context, PipelineStatusView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var name = PipelineReports.BlobName(input.Id);
        var view = await RoundResults.LoadAsync(storage, input);
        var html = Encoding.UTF8.GetBytes(renderer.RenderHtml(view));
        await SoupStorage.CreateIfAllowedAsync(storage.Reports);
        await PipelineReports.StoreResultAsync(storage, view);
        await storage.Reports.GetBlobClient(name).UploadAsync(
            new BinaryData(html),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/html; charset=utf-8" } });
        return name;
    }
}
