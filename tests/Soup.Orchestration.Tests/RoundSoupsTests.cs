using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Soup.Core.Jobs;
using Soup.Merging;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>What a round makes of its members: greedy soup, best member, WARP's LITI step, the interpolation line, variants.</summary>
public sealed class RoundSoupsTests
{
    private static string Member(string id, int member) => CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, member), CheckpointLayout.CheckpointFile);

    private static string Soup(string id, string? name = null) =>
        CheckpointLayout.Blob(id, name is null ? CheckpointLayout.SoupSlot(1) : CheckpointLayout.SoupSlot(1, name), CheckpointLayout.CheckpointFile);

    private static PipelineSpec Spec(SoupSpec soup, int members = 4) =>
        TestSpecs.Create(rounds: 1, members: members) with { Soup = soup, Init = new InitSpec { Checkpoint = "bases/init.safetensors" } };

    [Fact]
    public async Task Greedy_IsBuiltByTheEvaluationJob_AddingMembersByValidationAccuracyKeepingThoseThatDoNotHurt()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var id = "greedy-test";
        // Validation accuracies: member 2 best, then 0, 3, 1. Candidates: {2,0} improves, {2,0,3} drops, {2,0,1} ties (kept).
        harness.Preset(Member(id, 0), 0.80);
        harness.Preset(Member(id, 1), 0.70);
        harness.Preset(Member(id, 2), 0.85);
        harness.Preset(Member(id, 3), 0.75);
        harness.PresetGreedy([Member(id, 2), Member(id, 0)], 0.86);
        harness.PresetGreedy([Member(id, 2), Member(id, 0), Member(id, 3)], 0.84);
        harness.PresetGreedy([Member(id, 2), Member(id, 0), Member(id, 1)], 0.86);
        harness.Preset(Soup(id), 0.83);

        var result = await RunAsync(harness, id, Spec(new SoupSpec { Select = SoupSelections.Greedy }));

        // One evaluation job plans the greedy soup: no merge activity and no evaluation round trip per candidate.
        Assert.DoesNotContain(harness.Merges, m => m.Output.Contains("soup-greedy", StringComparison.Ordinal));
        var evaluation = Assert.Single(harness.Dispatches.SelectMany(d => d).OfType<EvaluateJob>());
        Assert.Equal("round-01/eval", evaluation.Slot);
        var plan = Assert.IsType<GreedySoupPlan>(evaluation.Greedy);
        Assert.Equal([0, 1, 2, 3], plan.Members);
        Assert.Equal([Member(id, 0), Member(id, 1), Member(id, 2), Member(id, 3)], plan.Members.Select(i => evaluation.Checkpoints[i]));
        Assert.Equal((SplitRoles.Validation, MergeMethods.Linear, (string?)null), (plan.Split, plan.Merge.Method, plan.Base));
        Assert.Null(plan.Merge.Weights);
        Assert.Equal(id, plan.Metadata!["pipeline"]);

        var round = Assert.Single(result.Rounds);
        Assert.Equal(Soup(id, "greedy"), round.Soup);
        Assert.Equal(0.86, round.SoupAccuracy);
        var greedy = Assert.Single(round.Variants!, v => v.Name == "greedy");
        Assert.Equal([0, 1, 2], greedy.Members);
        Assert.Contains("members 2, 0, 1 (in the order added; 3 more tried", greedy.Description, StringComparison.Ordinal);
        Assert.Equal(["erm", "uniform", "greedy", "ensemble"], round.Variants!.Select(v => v.Name));
        var erm = round.Variants![0];
        Assert.Equal((Member(id, 2), 0.85), (erm.Checkpoint, erm.Scores[0].Accuracy));
        Assert.Equal(0.83, round.Variants![1].Scores[0].Accuracy);
        Assert.Equal(result.FinalCheckpoint, round.Soup);
    }

    [Fact]
    public async Task Greedy_WithATaskVectorMethod_NamesTheInitAsTheBase_AndOnlyTheBestMemberKeptIsItsOwnSoup()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var id = "greedy-ties";
        harness.Preset(Member(id, 0), 0.80);
        harness.Preset(Member(id, 1), 0.90);
        harness.Preset(Member(id, 2), 0.85);
        harness.PresetGreedy([Member(id, 1), Member(id, 2)], 0.89);
        harness.PresetGreedy([Member(id, 1), Member(id, 0)], 0.88);

        var spec = Spec(new SoupSpec { Greedy = true }, members: 3) with { Merge = new MergeParameters { Method = MergeMethods.Ties, Density = 0.5 } };
        var result = await RunAsync(harness, id, spec);

        var plan = Assert.IsType<GreedySoupPlan>(Assert.Single(harness.Dispatches.SelectMany(d => d).OfType<EvaluateJob>()).Greedy);
        Assert.Equal((MergeMethods.Ties, 0.5, "bases/init.safetensors"), (plan.Merge.Method, plan.Merge.Density, plan.Base));
        var round = Assert.Single(result.Rounds);
        var greedy = Assert.Single(round.Variants!, v => v.Name == "greedy");
        Assert.Equal(Member(id, 1), greedy.Checkpoint);
        Assert.Equal([1], greedy.Members);
        Assert.Equal(Soup(id), round.Soup); // select "all": the greedy soup is scored, the merge delivered
    }

    [Fact]
    public async Task Best_DeliversTheMemberWithTheBestValidationAccuracy()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var id = "best-test";
        harness.Preset(Member(id, 0), 0.60);
        harness.Preset(Member(id, 1), 0.90);
        harness.Preset(Member(id, 2), 0.70);

        var result = await RunAsync(harness, id, Spec(new SoupSpec { Select = SoupSelections.Best }, members: 3) with { Recipe = "erm" });

        Assert.Equal(Member(id, 1), result.FinalCheckpoint);
        Assert.Equal(0.90, result.Rounds[0].SoupAccuracy);
        Assert.DoesNotContain(harness.Merges, m => m.Output.Contains("soup-greedy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TowardInitAndInterpolation_MergesThenStepsBackAndScoresTheLine()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var id = "warp-test";
        var spec = Spec(new SoupSpec { TowardInit = 0.3, Interpolation = new InterpolationSpec { From = 2, To = 0, Points = 5 } }, members: 3)
            with { Merge = new MergeParameters { Method = "ties", Density = 0.5 }, Recipe = "rewarded" };

        var result = await RunAsync(harness, id, spec);

        var merges = harness.Merges;
        var first = Assert.Single(merges, m => m.Output == Soup(id, "merge"));
        Assert.Equal(("ties", "bases/init.safetensors", 3), (first.Parameters.Method, first.Base, first.Members.Count));
        var liti = Assert.Single(merges, m => m.Output == Soup(id));
        Assert.Equal(("liti", 0.3, "bases/init.safetensors"), (liti.Parameters.Method, liti.Parameters.Eta, liti.Base));
        Assert.Equal([Soup(id, "merge")], liti.Members);

        var lerps = merges.Where(m => m.Output.Contains("lerp", StringComparison.Ordinal)).OrderBy(m => m.Output, StringComparer.Ordinal).ToList();
        Assert.Equal([Soup(id, "lerp-001"), Soup(id, "lerp-002"), Soup(id, "lerp-003")], lerps.Select(m => m.Output));
        Assert.All(lerps, m => Assert.Equal([Member(id, 2), Member(id, 0)], m.Members));
        Assert.Equal([[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]], lerps.Select(m => m.Parameters.Weights!));
        Assert.All(lerps, m => Assert.False(m.Parameters.Normalize));

        var evaluation = harness.Dispatches.SelectMany(d => d).OfType<EvaluateJob>().Single();
        Assert.Equal([Member(id, 0), Member(id, 1), Member(id, 2), Soup(id), Soup(id, "merge"), Soup(id, "lerp-001"), Soup(id, "lerp-002"), Soup(id, "lerp-003")], evaluation.Checkpoints);
        Assert.Equal([0, 1, 2], evaluation.Ensemble!);

        var round = result.Rounds[0];
        Assert.Equal(Soup(id), round.Soup);
        Assert.Equal(["erm", "ties", "ties+liti", "ensemble"], round.Variants!.Select(v => v.Name));
        Assert.Equal([null, null, 0.3, null], round.Variants!.Select(v => v.TowardInit)); // η is a field, not parsed from a name
        var curve = round.Interpolation!;
        Assert.Equal(("rewards", Member(id, 2), Member(id, 0)), (curve.Kind, curve.From, curve.To));
        Assert.Equal([0, 0.25, 0.5, 0.75, 1], curve.Points.Select(p => p.Lambda));
        Assert.Equal(harness.AccuracyOf(Member(id, 2)), curve.Points[0].Scores[0].Accuracy);
        Assert.Equal(harness.AccuracyOf(Soup(id, "lerp-002")), curve.Points[2].Scores[0].Accuracy);
        Assert.Equal(harness.AccuracyOf(Member(id, 0)), curve.Points[4].Scores[0].Accuracy);
    }

    private static async Task<PipelineResult> RunAsync(PipelineHarness harness, string id, PipelineSpec spec)
    {
        await harness.StartPipelineAsync(spec, id);
        var metadata = await harness.WaitForEndAsync(id);
        Assert.True(metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed, metadata.FailureDetails?.ErrorMessage);
        return harness.Result(metadata)!;
    }
}
