using Microsoft.DurableTask.Client;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>The init stages (linear probe, Ratatouille's auxiliary fine-tunings), the stop rule and per-split results, on the in-memory engine.</summary>
public sealed class PipelineStagesTests
{
    [Fact]
    public async Task RunAsync_ProbeAndAuxiliary_ChainsPretrainProbeAuxiliaryThenRoundOneFromAuxiliaries()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 2, members: 3) with
        {
            Init = new InitSpec { PretrainSteps = 5, LinearProbe = new LinearProbeSpec { Steps = 4, LearningRate = 0.2 } },
            Auxiliary = [new AuxiliarySpec { Name = "a", Steps = 6 }, new AuxiliarySpec { Name = "b", LearningRate = 0.3, Limit = 40 }],
        };

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var d = harness.Dispatches;
        Assert.Equal([1, 1, 2, 3, 1, 3, 1], d.Select(x => x.Length));
        string Blob(string slot) => CheckpointLayout.Blob(id, slot, CheckpointLayout.CheckpointFile);

        var probe = Assert.IsType<TrainJob>(Assert.Single(d[1]));
        Assert.Equal(("init/probe", Blob("init"), true, 4, 0.2), (probe.Slot, probe.InitCheckpoint, probe.Settings.LinearProbe, probe.Settings.Steps, probe.Settings.LearningRate));

        var aux = d[2].Cast<TrainJob>().ToList();
        Assert.Equal(["init/aux-a", "init/aux-b"], aux.Select(j => j.Slot));
        Assert.All(aux, j => Assert.Equal(Blob("init/probe"), j.InitCheckpoint));
        Assert.All(aux, j => Assert.False(j.Settings.LinearProbe));
        Assert.Equal((6, TestSpecs.LearningRates[0]), (aux[0].Settings.Steps, aux[0].Settings.LearningRate));
        Assert.Equal((spec.Members.Steps, 0.3, 40), (aux[1].Settings.Steps, aux[1].Settings.LearningRate, aux[1].Data.Limit));

        var round1 = d[3].Cast<TrainJob>().ToList();
        Assert.Equal([Blob("init/aux-a"), Blob("init/aux-b"), Blob("init/aux-a")], round1.Select(j => j.InitCheckpoint));
        var round2 = d[5].Cast<TrainJob>().ToList();
        var soup1 = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile);
        Assert.All(round2, j => Assert.Equal(soup1, j.InitCheckpoint));

        // The shared init (the probe) is round 1's base; members report the auxiliary they started from.
        Assert.Equal(Blob("init/probe"), harness.Merges[0].Base);
        var result = harness.Result(metadata)!;
        Assert.Equal(Blob("init/probe"), result.Rounds[0].Init);
        Assert.Equal([Blob("init/aux-a"), Blob("init/aux-b"), Blob("init/aux-a")], result.Rounds[0].Members.Select(m => m.Init));
        Assert.All(result.Rounds[1].Members, m => Assert.Null(m.Init));
    }

    [Fact]
    public async Task RunAsync_EverySplitEvaluated_ResultCarriesScoresPerSplitAndSplitRoles()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, members: 2) with { Recipe = "diwa" };

        var id = await harness.StartPipelineAsync(spec);
        var result = harness.Result(await harness.WaitForEndAsync(id))!;

        Assert.Equal([("validation", SplitRoles.Validation), ("test", SplitRoles.Test)], result.Splits!.Select(s => (s.Name, s.Role)));
        Assert.Equal("diwa", result.Recipe);
        var round = Assert.Single(result.Rounds);
        Assert.Null(round.SoupScores); // one copy: the soup's variant
        Assert.Equal(["validation", "test"], round.DeliveredScores()!.Select(s => s.Split));
        Assert.Equal(round.SoupAccuracy, round.DeliveredScores()![0].Accuracy);
        Assert.Equal(round.SoupAccuracy - 0.1, round.DeliveredScores()![1].Accuracy, 10);
        Assert.All(round.Members, m => Assert.Equal(["validation", "test"], m.Scores!.Select(s => s.Split)));
        Assert.All(round.Members, m => Assert.Equal(m.LearningRate, m.Settings!.LearningRate));
        Assert.Null(round.EnsembleScores);
        Assert.Contains(round.EnsembleVariantScores()!, e => e.Split == "validation" && e.Accuracy == 0.97);
    }

    [Theory]
    [InlineData(0.05, null, 2, "less than minImprovement")] // round 2's soup gains 0.04 on round 1's
    [InlineData(null, 0.56, 2, "reached the target")] // soups score 0.53, 0.57, 0.61
    [InlineData(0.03, null, 3, null)] // every round gains 0.04
    public async Task RunAsync_StopRule_StopsAfterTheRoundThatMeetsIt(double? minImprovement, double? target, int roundsRun, string? why)
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 3, members: 3) with { Stop = new StopSpec { MinImprovement = minImprovement, Target = target } };

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var result = harness.Result(metadata)!;
        Assert.Equal(roundsRun, result.Rounds.Count);
        Assert.Equal(1 + (2 * roundsRun), harness.Dispatches.Count);
        if (why is null)
        {
            Assert.Null(result.Stopped);
        }
        else
        {
            Assert.Contains(why, result.Stopped, StringComparison.Ordinal);
        }

        Assert.Equal(result.Rounds[^1].Soup, result.FinalCheckpoint);
        var progress = metadata.ReadCustomStatusAs<PipelineProgress>()!;
        Assert.Equal(("completed", roundsRun), (progress.Phase, progress.Round));
    }
}
