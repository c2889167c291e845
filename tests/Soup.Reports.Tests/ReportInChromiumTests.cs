namespace Soup.Reports.Tests;

/// <summary>Real reports opened in headless Chromium: the plots and tables render.</summary>
public sealed class ReportInChromiumTests
{
    [Fact]
    public void RenderHtml_CompleteThreeRoundRun_ChromiumDrawsEveryPlotAndTheRoundsTable()
    {
        var file = Path.Combine(Path.GetTempPath(), $"soup-report-{Guid.NewGuid():N}.html");
        try
        {
            File.WriteAllText(file, new PipelineReportRenderer().RenderHtml(SampleResults.Complete()));

            // Plots: soup vs members, ID vs OOD, round 3's rewards sweep, diversity, the members' curves of rounds 1 and 2.
            // Rows: 3 rounds x 2 splits.
            ReportPageChecks.AssertRenders(file, plots: 6, roundRows: 6);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
