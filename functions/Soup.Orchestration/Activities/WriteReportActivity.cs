using Microsoft.Extensions.Logging;
using System.Text;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Renders a pipeline's report and writes it to the reports container as <c>{pipelineId}/report.html</c> (replacing an
/// earlier one, so a retried activity writes the same page again); returns the blob name.
/// </summary>
public sealed class WriteReportActivity(SoupStorage storage, IPipelineReportRenderer renderer, ILogger<WriteReportActivity> logger) : StorageActivity<PipelineStatusView, string>(logger)
{
    /// <inheritdoc />
    protected override async Task<string> RunCoreAsync(TaskActivityContext context, PipelineStatusView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var name = PipelineReports.BlobName(input.Id);
        var html = Encoding.UTF8.GetBytes(renderer.RenderHtml(await RoundResults.LoadAsync(storage, input)));
        await SoupStorage.CreateIfAllowedAsync(storage.Reports);
        await storage.Reports.GetBlobClient(name).UploadAsync(
            new BinaryData(html),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/html; charset=utf-8" } });
        return name;
    }
}
