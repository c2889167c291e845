using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Cli.Commands;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Reports;
using Soup.Reports.Tests;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The report of a real pipeline: run on the local engine against Azurite with a real TorchSharp worker, written by the
/// orchestration to the reports container, opened in headless Chromium, and printed by <c>pipeline report</c>.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ReportEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_TwoRounds_WritesAReportThatChromiumRendersAndTheCliPrints()
    {
        var configuration = fixture.NewConfiguration(workers: 1);
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, Spec(), cancellationToken: Cancel);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4)))
        {
            var metadata = await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.True(metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"pipeline ended {metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorMessage}");
        }

        var view = (await PipelineStatusReader.ReadAsync(engine.Client, engine.Services.GetRequiredService<SoupStorage>(), id, Cancel))!;
        var blob = engine.Services.GetRequiredService<SoupStorage>().Reports.GetBlobClient(PipelineReports.BlobName(id));
        var stored = (await blob.DownloadContentAsync(Cancel)).Value;
        Assert.Equal("text/html; charset=utf-8", stored.Details.ContentType);
        var html = stored.Content.ToString();
        Assert.Contains("<th scope=\"row\">status</th><td>Completed</td>", html, StringComparison.Ordinal);
        Assert.Contains(HtmlReport.Encode(view.Result!.FinalCheckpoint), html, StringComparison.Ordinal);

        var file = Path.Combine(Path.GetTempPath(), $"soup-e2e-report-{Guid.NewGuid():N}.html");
        try
        {
            await File.WriteAllTextAsync(file, html, Cancel);
            var rows = ReportModel.From(view).Summaries.Sum(s => s.Splits.Count);
            ReportPageChecks.AssertRenders(file, plots: 1, roundRows: rows);

            // The CLI, on a client-only engine over the same task hub: the tables, where the report is, and the page.
            using var output = new StringWriter();
            var exit = await PipelineCommands.ReportAsync(configuration, id, new FileInfo(file), output, Cancel);
            Assert.Equal(0, exit);
            Assert.Contains("| round | split | role | members |", output.ToString(), StringComparison.Ordinal);
            Assert.Contains($"Report: blob '{configuration["ReportsContainer"]}/{id}/report.html'", output.ToString(), StringComparison.Ordinal);
            Assert.StartsWith("<!DOCTYPE html>", await File.ReadAllTextAsync(file, Cancel), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static PipelineSpec Spec() => new()
    {
        Name = "e2e-report",
        Seed = 5,
        Rounds = 2,
        Data = new DataSpec { Dataset = "tiny", ValidationFraction = 0.2, EvalSplit = "test" },
        Init = new InitSpec { PretrainSteps = 20, LearningRate = 0.05 },
        Members = new MembersSpec { Count = 2, Steps = 20, BatchSize = 32, LearningRates = [0.01, 0.05] },
        RoundTimeout = TimeSpan.FromMinutes(5),
    };
}
