using Soup.Cli.Commands;
using Soup.Orchestration;
using Soup.Reports;

namespace Soup.EndToEnd.Tests;

/// <summary>The command line's behaviour that needs no engine: bad specs and the results table.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Run_InvalidSpec_PrintsEveryProblemWithItsPathAndExits2()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bad-spec-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{ "name": "bad", "rounds": 0, "members": { "count": 999 } }""", TestContext.Current.CancellationToken);
        var output = new StringWriter();
        try
        {
            var code = await RunCommand.ExecuteAsync(new RunCommandArgs(new FileInfo(file), null, 1, null), output, TestContext.Current.CancellationToken);

            Assert.Equal(2, code);
            var text = output.ToString();
            Assert.Contains("$.rounds:", text);
            Assert.Contains("$.members.count:", text);
            Assert.Contains("nothing was started", text);
            Assert.DoesNotContain("Starting the local engine", text);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Validate_ExampleSpec_IsValid()
    {
        var output = new StringWriter();
        var code = ValidateCommand.Execute(new FileInfo(Path.Combine(RepositoryRoot(), "examples", "quickstart.json")), output);
        Assert.Equal(0, code);
        Assert.Contains("2 round(s) of 4 member(s)", output.ToString());
    }

    [Fact]
    public void ResultsTable_CompletedPipeline_ShowsEachRoundsMembersMeanAndBestAndSoup_FromTheReportModel()
    {
        MemberResult Member(int round, int m, double accuracy) => new(m, 0.01 * (m + 1), (round * 1000) + m, $"p/round-0{round}/member-00{m}/model.safetensors", accuracy, 0.5);
        var result = new PipelineResult("p", [
            new RoundResult(1, "p/init/model.safetensors", [Member(1, 0, 0.81), Member(1, 1, 0.83)], "p/round-01/soup/model.safetensors", 0.845, 0.4, "test"),
            new RoundResult(2, "p/round-01/soup/model.safetensors", [Member(2, 0, 0.85), Member(2, 1, 0.86)], "p/round-02/soup/model.safetensors", 0.871, 0.35, "test"),
        ], "p/round-02/soup/model.safetensors");
        var view = new PipelineStatusView("p", "Completed", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, result, null);

        var lines = Write(view);

        // Each round's row: members' mean and best, the soup, the soup's gain over the mean.
        Assert.Contains(lines, l => Cells(l) is ["1", "test", "test", "2", "82.00%", "83.00%", "84.50%", "+2.50", ..]);
        Assert.Contains(lines, l => Cells(l) is ["2", "test", "test", "2", "85.50%", "86.00%", "87.10%", "+1.60", ..]);
        Assert.Contains("chosen checkpoint: p/round-02/soup/model.safetensors", lines);
    }

    [Fact]
    public void ResultsTable_RoundWithDiagnostics_PrintsEnsembleDiversityAndConnectivity()
    {
        var diagnostics = new RoundDiagnostics(0.8625, 0.31, 0.124, 1.75, 0, 1, 0.851, 0.84, -0.011);
        var round = new RoundResult(1, "p/init/model.safetensors", [new(0, 0.01, 1, "a", 0.83, 0.5), new(1, 0.02, 2, "b", 0.85, 0.5)],
            "p/round-01/soup/model.safetensors", 0.86, 0.4, "test", diagnostics);
        var view = new PipelineStatusView("p", "Completed", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null,
            new PipelineResult("p", [round, round with { Round = 2, Diagnostics = null }], "p/round-01/soup/model.safetensors"), null);

        var lines = Write(view);

        var first = Cells(Assert.Single(lines, l => Cells(l) is ["1", ..]));
        Assert.Equal(["86.25%", "12.40%", "1.75", "members 0-1: midpoint 85.10% vs 84.00% (gap -1.10 pts)"], first[8..12]);
        Assert.Equal([ReportFormat.None, ReportFormat.None, ReportFormat.None, ReportFormat.None], Cells(Assert.Single(lines, l => Cells(l) is ["2", ..]))[8..12]);
    }

    [Fact]
    public void ResultsTable_RoundWithVariants_PrintsEachWayOfUsingTheMembersPerSplitAndTheStopReason()
    {
        IReadOnlyList<SplitAccuracy> Scores(double validation, double test) => [new("validation", validation, 0.5), new("test", test, 0.6)];
        var round = new RoundResult(1, "i", [new(0, 0.01, 1, "a", 0.83, 0.5)], "s", 0.86, 0.4, "validation",
            Variants: [new("erm", "a", [0], Scores(0.83, 0.71)), new("uniform", "s", [0, 1], Scores(0.86, 0.745)), new("ensemble", null, [0, 1], Scores(0.87, 0.75))]);
        var view = new PipelineStatusView("p", "Completed", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null,
            new PipelineResult("p", [round], "s", Stopped: "round 1's soup reached the target"), null);

        var lines = Write(view);

        Assert.Contains(lines, l => Cells(l) is ["erm", "0", "83.00%", "71.00%", "a", ..]);
        Assert.Contains(lines, l => Cells(l) is ["uniform", "0, 1", "86.00%", "74.50%", "s", ..]);
        Assert.Contains(lines, l => Cells(l) is ["ensemble", "0, 1", "87.00%", "75.00%", var none, ..] && none == ReportFormat.None);
        Assert.Contains("stopped early: round 1's soup reached the target", lines);
    }

    [Fact]
    public void ResultsTable_FailedPipeline_PrintsTheReason()
    {
        var view = new PipelineStatusView("p", "Failed", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, null, "job 'init' failed: dataset 'x' missing");

        var lines = Write(view);

        Assert.Contains("status: Failed", lines);
        Assert.Contains("failure: job 'init' failed: dataset 'x' missing", lines);
    }

    private static List<string> Write(PipelineStatusView view)
    {
        var output = new StringWriter();
        ResultsTable.Write(view, output);
        return [.. output.ToString().Split('\n').Select(l => l.TrimEnd('\r'))];
    }

    /// <summary>The cells of a table row as the console draws it (│ between cells), trimmed; empty for other lines.</summary>
    private static string[] Cells(string line) =>
        line.TrimStart().StartsWith('│') ? [.. line.Trim().Trim('│').Split('│').Select(c => c.Trim())] : [];

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Pipeline.sln not found above the test output");
    }
}
