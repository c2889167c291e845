using Microsoft.DurableTask.Client;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

public sealed class PipelineOrchestratorTests
{
    [Fact]
    public async Task RunAsync_TwoRoundsThreeMembersPretrained_ReportsEveryRoundAndChainsSoups()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 2, members: 3);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var result = harness.Result(metadata);
        Assert.NotNull(result);
        Assert.Equal(id, result.PipelineId);
        Assert.Equal([1, 2], result.Rounds.Select(r => r.Round));
        var init = CheckpointLayout.Blob(id, CheckpointLayout.InitSlot, CheckpointLayout.CheckpointFile);
        string[] soups = [Soup(id, 1), Soup(id, 2)];
        Assert.Equal(init, result.Rounds[0].Init);
        // Diversity and connectivity; the ensemble's scores are its variant's, kept once.
        Assert.Equal(new RoundDiagnostics(null, null, 0.2, 1.5, 0, 1, 0.93, 0.9, -0.03), result.Rounds[0].Diagnostics);
        Assert.Equal(soups[0], result.Rounds[1].Init);
        Assert.Equal(soups[1], result.FinalCheckpoint);
        foreach (var round in result.Rounds)
        {
            Assert.Equal(soups[round.Round - 1], round.Soup);
            Assert.Equal(harness.AccuracyOf(round.Soup), round.SoupAccuracy);
            Assert.Equal(harness.LossOf(round.Soup), round.SoupLoss);
            Assert.Equal("validation", round.Split);
            Assert.Equal([0, 1, 2], round.Members.Select(m => m.Member));
            foreach (var member in round.Members)
            {
                Assert.Equal(Member(id, round.Round, member.Member), member.Checkpoint);
                Assert.Equal(harness.AccuracyOf(member.Checkpoint), member.Accuracy);
                Assert.Equal(harness.LossOf(member.Checkpoint), member.Loss);
                Assert.Equal(TestSpecs.LearningRates[member.Member], member.LearningRate);
                Assert.Equal(JobPlanner.MemberSeed(spec, round.Round, member.Member), member.Seed);
            }
        }

        // Every reported accuracy is distinct, so a member mixed up with another (or with the soup) would show.
        var accuracies = result.Rounds.SelectMany(r => r.Members.Select(m => m.Accuracy).Append(r.SoupAccuracy)).ToList();
        Assert.Equal(8, accuracies.Distinct().Count());

        var progress = metadata.ReadCustomStatusAs<PipelineProgress>();
        Assert.NotNull(progress);
        Assert.Equal("completed", progress.Phase);
        Assert.Equal(result.Rounds[1].SoupAccuracy, progress.LastSoupAccuracy);
    }

    [Fact]
    public async Task RunAsync_TwoRoundsThreeMembersPretrained_DispatchesPretrainMembersAndEvaluationsInOrder()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 2, members: 3);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var dispatches = harness.Dispatches;
        Assert.Equal([1, 3, 1, 3, 1], dispatches.Select(d => d.Length));

        var pretrain = Assert.IsType<TrainJob>(Assert.Single(dispatches[0]));
        Assert.Equal(CheckpointLayout.InitSlot, pretrain.Slot);
        Assert.Equal(id, pretrain.PipelineId);
        Assert.Null(pretrain.InitCheckpoint);
        Assert.Equal(spec.Init.PretrainSteps, pretrain.Settings.Steps);
        Assert.Equal(spec.Init.LearningRate, pretrain.Settings.LearningRate);
        Assert.Equal("in", pretrain.Data.Part);

        var init = CheckpointLayout.Blob(id, CheckpointLayout.InitSlot, CheckpointLayout.CheckpointFile);
        string?[] startsOf = [init, Soup(id, 1)];
        for (var round = 1; round <= 2; round++)
        {
            var members = dispatches[(2 * round) - 1].Select(j => Assert.IsType<TrainJob>(j)).ToList();
            Assert.Equal([CheckpointLayout.MemberSlot(round, 0), CheckpointLayout.MemberSlot(round, 1), CheckpointLayout.MemberSlot(round, 2)], members.Select(j => j.Slot));
            Assert.All(members, j => Assert.Equal(startsOf[round - 1], j.InitCheckpoint));
            Assert.All(members, j => Assert.Equal(spec.Members.Steps, j.Settings.Steps));
            Assert.Equal(TestSpecs.LearningRates, members.Select(j => j.Settings.LearningRate));

            var evaluation = Assert.IsType<EvaluateJob>(Assert.Single(dispatches[2 * round]));
            Assert.Equal(CheckpointLayout.EvaluationSlot(round), evaluation.Slot);
            Assert.Equal(["validation", "test"], evaluation.Splits.Select(s => s.Name));
            Assert.Equal([Member(id, round, 0), Member(id, round, 1), Member(id, round, 2), Soup(id, round)], evaluation.Checkpoints);
        }
    }

    [Fact]
    public async Task RunAsync_TwoRounds_MergesExactlyEachRoundsMemberCheckpoints()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 2, members: 3);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var merges = harness.Merges;
        Assert.Equal(2, merges.Count);
        var init = CheckpointLayout.Blob(id, CheckpointLayout.InitSlot, CheckpointLayout.CheckpointFile);
        string[] bases = [init, Soup(id, 1)];
        for (var round = 1; round <= 2; round++)
        {
            var merge = merges[round - 1];
            Assert.Equal([Member(id, round, 0), Member(id, round, 1), Member(id, round, 2)], merge.Members);
            Assert.Equal(Soup(id, round), merge.Output);
            Assert.Equal(bases[round - 1], merge.Metadata["base_checkpoint"]);
            Assert.Equal(round.ToString(System.Globalization.CultureInfo.InvariantCulture), merge.Metadata["round"]);
            Assert.Equal("linear", merge.Metadata["merge_method"]);
            Assert.Equal("linear", merge.Parameters.Method);
            Assert.Equal(bases[round - 1], merge.Base); // the round's init is the base of task-vector methods
        }

        Assert.Empty(harness.DeadlineReconciles);
    }

    [Fact]
    public async Task RunAsync_InitCheckpointGiven_SkipsPretrainingAndStartsMembersFromIt()
    {
        const string Base = "bases/model.safetensors";
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: Base);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var dispatches = harness.Dispatches;
        Assert.Equal([2, 1], dispatches.Select(d => d.Length));
        Assert.DoesNotContain(dispatches.SelectMany(d => d), j => j.Slot == CheckpointLayout.InitSlot);
        Assert.All(dispatches[0], j => Assert.Equal(Base, Assert.IsType<TrainJob>(j).InitCheckpoint));
        Assert.Equal(Base, Assert.Single(harness.Merges).Metadata["base_checkpoint"]);

        var result = harness.Result(metadata);
        Assert.NotNull(result);
        var round = Assert.Single(result.Rounds);
        Assert.Equal(Base, round.Init);
        Assert.Equal(Soup(id, 1), result.FinalCheckpoint);
    }

    [Fact]
    public async Task RunAsync_WaitingForRoundOneMembers_ProgressShowsTrainingAndPendingCount()
    {
        // The worker holds round 1's members; the test lands them one by one.
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot.StartsWith("round-01/member-", StringComparison.Ordinal) ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 2, members: 3);
        var id = await harness.StartPipelineAsync(spec);

        var waiting = await harness.WaitForProgressAsync(id, p => p is { Phase: "training", Round: 1 });

        Assert.Equal(new PipelineProgress("training", 1, 2, 0, 0, 3, null, null, LandingEvents.RoundInstance(id, 1), Name: "orch-test"), waiting);
        var members = harness.Dispatches[1];
        await harness.RaiseAsync(id, PipelineHarness.Landed(members[1]));
        var oneLanded = await harness.WaitForProgressAsync(id, p => p.Landed == 1);
        Assert.Equal(new PipelineProgress("training", 1, 2, 1, 0, 2, null, null, LandingEvents.RoundInstance(id, 1), Name: "orch-test"), oneLanded);

        await harness.RaiseAsync(id, PipelineHarness.Landed(members[0]));
        await harness.RaiseAsync(id, PipelineHarness.Landed(members[2]));
        var metadata = await harness.WaitForEndAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
    }

    [Fact]
    public async Task RunAsync_WaitingForPretraining_ProgressShowsPretrainingPhase()
    {
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == CheckpointLayout.InitSlot ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 2);
        var id = await harness.StartPipelineAsync(spec);

        // Wait until the pretraining job was dispatched and the orchestration has gone idle waiting for it.
        while (harness.Dispatches.Count == 0)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        var waiting = await harness.WaitForProgressAsync(id, _ => true);

        Assert.Equal("pretraining", waiting.Phase);
        Assert.Equal(0, waiting.Round);
        Assert.Equal(1, waiting.Pending);
        await harness.RaiseAsync(id, PipelineHarness.Landed(Assert.Single(harness.Dispatches[0])));
        var metadata = await harness.WaitForEndAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
    }

    private static string Member(string id, int round, int member) =>
        CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(round, member), CheckpointLayout.CheckpointFile);

    private static string Soup(string id, int round) =>
        CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round), CheckpointLayout.CheckpointFile);
}
