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

    [Fact]
    public async Task AnEndedPipeline_IsReadFromItsStoredResult_SoAFailedOnesCompletedRoundsShowEverywhere()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, Spec(), cancellationToken: Cancel);
        await engine.Client.TerminateInstanceAsync(id, cancellation: Cancel);
        var ended = await engine.Client.WaitForInstanceCompletionAsync(id, cancellation: Cancel);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, ended.RuntimeStatus);
        Assert.Null((await PipelineStatusReader.ReadAsync(engine.Client, storage, id, Cancel))!.Result); // nothing stored yet

        // What the report step of a pipeline that failed in round 2 stores: round 1 in full, no checkpoint chosen.
        IReadOnlyList<SplitAccuracy> Scores(double a) => [new("test", a, 1 - a), new("validation", a + 0.01, 0.9 - a)];
        var round = new RoundResult(
            1, "bases/init.safetensors",
            [new(0, 0.01, 1, $"{id}/round-01/member-000/model.safetensors", 0.811, 0.5, Scores(0.811)), new(1, 0.05, 2, $"{id}/round-01/member-001/model.safetensors", 0.833, 0.4, Scores(0.833))],
            $"{id}/round-01/soup/model.safetensors", 0.857, 0.35, "test", SoupScores: Scores(0.857),
            Variants: [new("uniform", $"{id}/round-01/soup/model.safetensors", [0, 1], Scores(0.857))]);
        var failed = new PipelineStatusView(
            id, "Failed", ended.CreatedAt, ended.LastUpdatedAt, new PipelineProgress("failed", 2, 2, 0, 1, 1, 0.857, "round 2 training: 0 of 2 job(s) landed"),
            new PipelineResult(id, [round], "", Splits: [new SplitInfo("test", "test"), new SplitInfo("validation", "validation")]), "round 2 training: 0 of 2 job(s) landed");
        await engine.Services.GetRequiredService<Soup.Orchestration.Activities.WriteReportActivity>().RunAsync(new ReportContext(id), failed);

        var stored = await PipelineReports.ReadResultAsync(storage, id, Cancel);
        Assert.Equal("85.70%", ReportFormat.Percent(Assert.Single(stored!.Result!.Rounds).SoupAccuracy));

        // The status (API and CLI), the console table and the Markdown report all read that result.
        var view = (await PipelineStatusReader.ReadAsync(engine.Client, storage, id, Cancel))!;
        Assert.Equal("Terminated", view.RuntimeStatus); // the task hub's own status
        Assert.Equal(2, Assert.Single(view.Result!.Rounds).Members.Count);
        using var table = new StringWriter();
        ResultsTable.Write(view, table);
        Assert.Contains("85.70%", table.ToString(), StringComparison.Ordinal); // the soup
        Assert.Contains("82.20%", table.ToString(), StringComparison.Ordinal); // the members' mean, computed by the report model
        Assert.Contains("chosen checkpoint: none: the pipeline ended Terminated before choosing one", table.ToString(), StringComparison.Ordinal);
        using var markdown = new StringWriter();
        Assert.Equal(0, await PipelineCommands.ReportAsync(configuration, id, null, markdown, Cancel));
        Assert.Contains("| 1 | test | test | 2 | 82.20% | 83.30% | 85.70% |", markdown.ToString(), StringComparison.Ordinal);
    }

    private sealed class ReportContext(string id) : Microsoft.DurableTask.TaskActivityContext
    {
        public override Microsoft.DurableTask.TaskName Name => new(TaskNames.WriteReport);

        public override string InstanceId => id;
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
