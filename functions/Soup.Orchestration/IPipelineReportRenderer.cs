namespace Soup.Orchestration;

/// <summary>
/// Turns a pipeline's status (and its result, once there is one) into its report: one self-contained HTML page. The
/// orchestration's report activity and the API's report route use it; the hosts register the implementation
/// (<c>Soup.Reports</c>), so this project needs no plotting library.
/// </summary>
public interface IPipelineReportRenderer
{
    /// <summary>The report of <paramref name="view"/>: the same page for the same view.</summary>
    string RenderHtml(PipelineStatusView view);
}
