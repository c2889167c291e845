using Soup.Orchestration;

namespace Soup.Reports;

/// <summary>
/// The one place reports are rendered: the HTML page the API serves and the activity writes, and the Markdown tables
/// the CLI prints, both from a pipeline's status view.
/// </summary>
public sealed class PipelineReportRenderer : IPipelineReportRenderer
{
    /// <inheritdoc />
    public string RenderHtml(PipelineStatusView view) => HtmlReport.Render(ReportModel.From(view));

    /// <summary>The report's facts and tables as Markdown.</summary>
    public string RenderMarkdown(PipelineStatusView view) => MarkdownReport.Render(ReportModel.From(view));
}
