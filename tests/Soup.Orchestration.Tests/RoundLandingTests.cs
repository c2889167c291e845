using Microsoft.DurableTask.Client;
using Soup.Core.Storage;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>Landing events reach the instance that awaits them, whenever they arrive, and count once.</summary>
public sealed class RoundLandingTests
{
    [Fact]
    public async Task RunAsync_LandingsRaisedBeforeTheWaitStarts_AreNotLost()
    {
        // Every notice (pretraining, members, evaluation) is raised while DispatchJobs still runs, so it reaches the
        // instance before the instance waits for it. A long deadline: finishing proves no reconcile was needed.
        await using var harness = await PipelineHarness.StartAsync();
        harness.LandBeforeDispatchReturns = true;
        var spec = TestSpecs.Create(rounds: 2, members: 3);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Empty(harness.DeadlineReconciles);
        Assert.Equal([1, 3, 1, 3, 1], harness.Dispatches.Select(d => d.Length));
    }

    [Fact]
    public async Task RunAsync_DuplicatesBeforeAndDuringTheWait_CountOnce()
    {
        var duplicated = CheckpointLayout.MemberSlot(1, 1);
        var held = CheckpointLayout.MemberSlot(1, 2);
        await using var harness = await PipelineHarness.StartAsync(worker: job =>
            job.Slot == duplicated ? [PipelineHarness.Landed(job), PipelineHarness.Landed(job), PipelineHarness.Landed(job)]
            : job.Slot == held ? []
            : [PipelineHarness.Landed(job)]);
        harness.LandBeforeDispatchReturns = true;
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: "bases/model.safetensors");
        var id = await harness.StartPipelineAsync(spec);

        await harness.WaitForProgressAsync(id, p => p is { Phase: "training", Landed: 2 });
        await harness.RaiseAsync(id, PipelineHarness.Landed(harness.Dispatches[0].Single(j => j.Slot == duplicated)));
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);

        var progress = await harness.WaitForProgressAsync(id, _ => true);
        Assert.Equal((2, 1), (progress.Landed, progress.Pending));
        await harness.RaiseAsync(id, PipelineHarness.Landed(harness.Dispatches[0].Single(j => j.Slot == held)));
        var metadata = await harness.WaitForEndAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(3, Assert.Single(harness.Merges).Members.Distinct().Count());
    }

    [Fact]
    public async Task RunAsync_MemberLandedBeforeItsRoundExisted_FoundRightAfterDispatchWithoutWaitingForTheDeadline()
    {
        // The member's event was dropped (its round did not exist yet); only its blob in the container tells.
        var early = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == early ? [] : [PipelineHarness.Landed(job)],
            reconcile: request => request.Slots.Contains(early) && !request.AtDeadline
                ? [new LandingNotice(early, LandingKind.Checkpoint, CheckpointLayout.Blob(request.PipelineId, early, CheckpointLayout.CheckpointFile), null)]
                : []);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors"); // 10-minute deadline

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Empty(harness.DeadlineReconciles);
        Assert.Equal([CheckpointLayout.MemberSlot(1, 0), early], harness.Reconciles[0].Slots);
        Assert.Equal(2, Assert.Single(harness.Merges).Members.Count);
    }

    [Theory]
    [InlineData("p-1", "init", "p-1")]
    [InlineData("p-1", "round-01/member-000", "p-1:round-01")]
    [InlineData("p-1", "round-12/eval", "p-1:round-12")]
    [InlineData("p-1", "round-x/member-000", "p-1")]
    [InlineData("p-1", "round-00/member-000", "p-1")]
    public void InstanceFor_Slot_IsTheInstanceThatAwaitsIt(string pipelineId, string slot, string expected) =>
        Assert.Equal(expected, LandingEvents.InstanceFor(pipelineId, slot));

    [Fact]
    public void InstanceFor_EveryPlannedSlot_MatchesTheRoundInstance()
    {
        var spec = TestSpecs.Create(rounds: 3, members: 2);
        for (var round = 1; round <= spec.Rounds; round++)
        {
            var slots = JobPlanner.Members(spec, "p", round, "i").Select(j => j.Slot).Append(CheckpointLayout.EvaluationSlot(round));
            Assert.All(slots, s => Assert.Equal(LandingEvents.RoundInstance("p", round), LandingEvents.InstanceFor("p", s)));
        }

        Assert.Equal("p", LandingEvents.InstanceFor("p", JobPlanner.Pretrain(spec, "p").Slot));
    }
}
