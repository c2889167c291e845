using Microsoft.DurableTask.Client;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

public sealed class PipelineLandingTests
{
    private const string Reason = "dataset 'x' missing";

    [Fact]
    public async Task RunAsync_FailureRecordLands_FailsWithReasonAndSlot()
    {
        var failing = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == failing ? [PipelineHarness.Failed(job, Reason)] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 2, members: 3);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.NotNull(metadata.FailureDetails);
        Assert.Contains(Reason, metadata.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(failing, metadata.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(PipelineFailedException), metadata.FailureDetails.ErrorType, StringComparison.Ordinal);

        var progress = metadata.ReadCustomStatusAs<PipelineProgress>();
        Assert.NotNull(progress);
        Assert.Equal("failed", progress.Phase);
        Assert.Equal(1, progress.Round);
        Assert.Contains(Reason, progress.Message, StringComparison.Ordinal);

        Assert.Empty(harness.Merges);
        Assert.Equal([1, 3], harness.Dispatches.Select(d => d.Length));
    }

    [Fact]
    public async Task RunAsync_DuplicateLandingForOneMember_CountsOnceAndWaitsForTheRest()
    {
        var duplicated = CheckpointLayout.MemberSlot(1, 0);
        var held = CheckpointLayout.MemberSlot(1, 2);
        await using var harness = await PipelineHarness.StartAsync(worker: job =>
            job.Slot == duplicated ? [PipelineHarness.Landed(job), PipelineHarness.Landed(job)]
            : job.Slot == held ? []
            : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: "bases/model.safetensors");
        var id = await harness.StartPipelineAsync(spec);

        // The worker raises member 0 twice, then member 1: once member 1 is counted, the duplicate has been seen too.
        await harness.WaitForProgressAsync(id, p => p is { Phase: "training", Landed: 2 });
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);

        var progress = await harness.WaitForProgressAsync(id, _ => true);
        Assert.Equal(new PipelineProgress("training", 1, 1, 2, 0, 1, null, null, LandingEvents.RoundInstance(id, 1), Name: "orch-test"), progress);
        Assert.Equal(OrchestrationRuntimeStatus.Running, await harness.StatusAsync(id));
        Assert.Empty(harness.Merges);

        var last = harness.Dispatches[0].Single(j => j.Slot == held);
        await harness.RaiseAsync(id, PipelineHarness.Landed(last));
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var merge = Assert.Single(harness.Merges);
        Assert.Equal(3, merge.Members.Distinct().Count());
        var result = harness.Result(metadata);
        Assert.NotNull(result);
        Assert.Equal(3, Assert.Single(result.Rounds).Members.Count);
    }
}
