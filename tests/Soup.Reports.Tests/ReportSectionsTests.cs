using Soup.Core.Jobs;
using Soup.Orchestration;

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
    public void Pairs_APipelineThatMadeItsPairs_ComesFirstWithTheirCounts_AndOthersHaveNoSuchSection()
    {
        var view = SampleResults.Complete() with { Pairs = new PairsReport("conciseness", "policy", "p/init/model.safetensors", 200, 50, 40, 30, 7, 1, 300, 2, 900) };

        var sections = ReportSections.All(ReportModel.From(view));
        var pairs = sections[0];

        Assert.Equal(("pairs", "Preference pairs"), (pairs.Id, pairs.Title));
        Assert.Contains("900 held-out documents: two samples of p/init/model.safetensors per prompt, labelled by the gold reward 'conciseness'", pairs.Tables[0].Caption, StringComparison.Ordinal);
        Assert.Equal(["pairs:train", "200", $"50 flipped ({ReportFormat.Percent(0.25)})"], pairs.Tables[0].Rows[0]);
        Assert.Equal(["pairs:shifted", "30", "gold (shifted prompts)"], pairs.Tables[0].Rows[3]);
        Assert.Equal(["300", "7", "1", "2"], pairs.Tables[1].Rows[0]);
        Assert.DoesNotContain(ReportSections.All(ReportModel.From(SampleResults.Complete())), s => s.Id == "pairs");
        Assert.Contains("Preference pairs", MarkdownReport.Render(ReportModel.From(view)), StringComparison.Ordinal);
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
    public void Generation_RlSweepWithMorl_TablesTheFrontWithHypervolumes_AndTheTrainingCurves_AndPlotsThem()
    {
        var view = SampleResults.Complete();
        var round = view.Result!.Rounds[0];
        var (a, b) = (round.Members[0].Checkpoint, round.Members[1].Checkpoint);
        const string Mid = "p/round-01/soup-lerp-001/model.safetensors";
        const string Morl = "p/round-01/morl-000/model.safetensors";
        static GenerationScore Scored(string blob, double x, double y, RlCurve? curve = null) =>
            new(blob, [new RewardScore("conciseness", x), new RewardScore("lexical-diversity", y)], 0.5, 6, [], Training: curve);
        var hacked = new RlCurve("warm", ["conciseness"], [new RlCurvePoint(10, 0.1, 0.0, [0.5]), new RlCurvePoint(20, 0.9, 1.0, [0.8]), new RlCurvePoint(30, 1.5, 2.0, [0.3])]);
        round = round with
        {
            Interpolation = new InterpolationCurve(
                CurveKinds.Rewards, a, b, [new(0, [], a), new(0.5, [], Mid), new(1, [], b)], [new InterpolationPoint(0.5, [], Morl)]),
            Generation = [Scored(a, 0.9, 0.1, hacked), Scored(b, 0.1, 0.9), Scored(Mid, 0.6, 0.6), Scored(Morl, 0.4, 0.4)],
        };
        var model = ReportModel.From(view with { Result = view.Result with { Rounds = [round] } });

        var tables = ReportSections.Generation(model).Tables;
        var front = Assert.Single(tables, t => t.Headers.Contains("Pareto-optimal"));
        var quality = Assert.Single(tables, t => t.Headers.Contains("hypervolume"));
        var training = Assert.Single(tables, t => t.Headers.Contains("optimised reward"));

        Assert.Equal(["RL policy", "soup", "RL policy", "MORL"], front.Rows.Select(r => r[0]));
        Assert.Equal(["yes", "yes", "yes", ""], front.Rows.Select(r => r[5])); // MORL's (0.4, 0.4) is dominated by the soup's (0.6, 0.6)
        // Reference (0.02, 0.02): 0.1 below the worst on each reward less a tenth of the 0.8 range. Soups' staircase
        // (0.9, 0.1), (0.6, 0.6), (0.1, 0.9): 0.88·0.08 + 0.58·0.5 + 0.08·0.3 = 0.3844; MORL's with the policies, (0.4, 0.4)
        // in the middle: 0.88·0.08 + 0.38·0.3 + 0.08·0.5 = 0.2244.
        Assert.Equal([["rewarded soups", "3", "0.384"], ["MORL (with the two policies)", "3", "0.224"]], quality.Rows);
        var row = Assert.Single(training.Rows);
        Assert.Equal(["member 0", "warm", "0.100 → 1.500", "2.000", "0.500 → 0.300", "0.800 (20)", "0.500"], row);
        var figures = ReportPlots.All(model);
        Assert.NotNull(Assert.Single(figures, f => f.Id == "plot-generation-front-r1").Svg);
        Assert.Equal(2, figures.Count(f => f.Id.StartsWith("plot-rl-r1", StringComparison.Ordinal) && f.Svg is not null)); // optimised, then tracked 'conciseness'
        Assert.Contains("KL to", Assert.Single(figures, f => f.Id == "plot-reward-kl").Svg, StringComparison.Ordinal);
        Assert.Null(Assert.Single(ReportPlots.All(ReportModel.From(SampleResults.Complete())), f => f.Id == "plot-reward-kl").Svg); // no generation: pending
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
