using Soup.Core.Jobs;

namespace Soup.Reports.Tests;

public sealed class ReportSectionsTests
{
    [Fact]
    public void Rounds_CompleteRun_OneRowPerRoundAndSplitWithMeanBestSoupAndEnsemble()
    {
        var model = ReportModel.From(SampleResults.Complete());
        var round = model.Rounds[0];
        var validation = round.Members.Select(m => m.Scores![0].Accuracy).ToList();

        var table = Assert.Single(ReportSections.Rounds(model).Tables);

        Assert.Equal(6, table.Rows.Count);
        var first = table.Rows[0];
        Assert.Equal(["1", "validation", "validation", "6"], first.Take(4));
        Assert.Equal(ReportFormat.Percent(validation.Average()), first[4]);
        Assert.Equal(ReportFormat.Percent(validation.Max()), first[5]);
        Assert.Equal(ReportFormat.Percent(round.SoupAccuracy), first[6]);
        Assert.Equal(ReportFormat.Percent(round.EnsembleScores![0].Accuracy), first[8]);
        Assert.Equal(["1", "test", "test"], table.Rows[1].Take(3));
        Assert.Equal("1", table.Rows[2][^1]); // round 2 went on without one member
    }

    [Fact]
    public void Interpolation_RewardsCurve_MarksExactlyTheParetoOptimalLambdas()
    {
        var model = ReportModel.From(SampleResults.Complete());

        var rewards = ReportSections.Interpolation(model).Tables.Single(t => t.Caption.Contains("rewards", StringComparison.Ordinal));

        // upright = 0.9 − 0.2λ² falls with λ, tilted = 0.6 + 0.25λ rises, except the dip at λ = 0.5: every λ but 0.5 is optimal.
        Assert.Equal(["λ", "upright", "tilted", "Pareto-optimal"], rewards.Headers);
        Assert.Equal(
            ["0", "0.125", "0.25", "0.375", "0.625", "0.75", "0.875", "1"],
            rewards.Rows.Where(r => r[^1] == "yes").Select(r => r[0]));
    }

    [Fact]
    public void RewardsFront_ObjectivesNamedBySplitRoles_AreTheAxesEvenWhenOtherSplitsComeFirst()
    {
        var view = SampleResults.Complete();
        var curve = view.Result!.Rounds[2].Interpolation!;
        curve = curve with { Points = [.. curve.Points.Select(p => p with { Scores = [new("validation", 0.5, 1), .. p.Scores] })] };

        var front = ReportPlots.RewardsFront(ReportModel.From(view), curve);

        Assert.Equal(("upright", "tilted"), (front!.XSplit, front.YSplit));
    }

    [Fact]
    public void RoleOf_WithoutSplitInfo_InfersValidationAndTestFromTheirNames()
    {
        var model = ReportModel.From(SampleResults.Bare());

        Assert.Equal(("validation", "test", null), (model.RoleOf("validation"), model.RoleOf("test"), model.RoleOf("domain-75")));
        Assert.Null(model.InDistribution);
        Assert.Equal("test", model.OutOfDistribution);
    }

    [Fact]
    public void Generation_RewardsAndKlPerCheckpoint_TheDeliveredSoupMarked_AndItsCompletions()
    {
        var view = SampleResults.Complete();
        var round = view.Result!.Rounds[0];
        round = round with
        {
            Generation =
            [
                new GenerationScore(round.Members[0].Checkpoint, [new RewardScore("conciseness", 0.25), new RewardScore("positivity", -0.5)], 1.5, 7.2, []),
                new GenerationScore(round.Soup, [new RewardScore("conciseness", 0.75), new RewardScore("positivity", 0.125)], 0.5, 6, [new GeneratedSample("The day", " was fine.", [0.1, 0.2])]),
            ],
        };
        var model = ReportModel.From(view with { Result = view.Result with { Rounds = [round, .. view.Result.Rounds.Skip(1)] } });

        var section = ReportSections.Generation(model);
        var none = ReportSections.Generation(ReportModel.From(SampleResults.Complete()));

        var (scores, samples) = (section.Tables[0], section.Tables[1]);
        Assert.Equal(["checkpoint", "conciseness", "positivity", "KL to init", "tokens", "prompts cut"], scores.Headers);
        Assert.Equal([round.Members[0].Checkpoint, "0.250", "-0.500", "1.500", "7.2", "0"], scores.Rows[0]);
        Assert.Equal($"{round.Soup} (delivered)", scores.Rows[1][0]);
        Assert.Equal(["The day", " was fine.", "0.100", "0.200"], Assert.Single(samples.Rows));
        Assert.Empty(none.Tables);
        Assert.Contains("No generation evaluation", none.Pending, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_CellWithPipesAndNewlines_StaysInOneCell()
    {
        Assert.Equal("a \\| b c", MarkdownReport.Cell("a | b\nc"));
    }

    [Fact]
    public void Markdown_CompleteRun_HasEveryTableWithMatchingColumnCounts()
    {
        var text = new PipelineReportRenderer().RenderMarkdown(SampleResults.Complete());

        Assert.StartsWith("# Pipeline diwa-20261127-abc123\n", text, StringComparison.Ordinal);
        Assert.Contains("| round | split | role | members | members mean |", text, StringComparison.Ordinal);
        foreach (var block in text.Split("\n\n").Where(b => b.StartsWith('|')))
        {
            var columns = block.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Replace("\\|", "", StringComparison.Ordinal).Count(c => c == '|')).Distinct();
            Assert.Single(columns);
        }
    }
}
