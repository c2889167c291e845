using Microsoft.DurableTask.Client;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>
/// The round deadline. The orchestrator takes its spec as given (the parser enforces the one-minute minimum), so these
/// tests hand it a spec with a 3-second round timeout: the in-memory engine's timers run in real time.
/// </summary>
public sealed class PipelineDeadlineTests
{
    private static readonly TimeSpan RoundTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task RunAsync_LandingNotNotifiedButFoundByReconcile_CompletesTheRound()
    {
        var lost = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == lost ? [] : [PipelineHarness.Landed(job)],
            reconcile: request => !request.AtDeadline ? [] : [.. request.Slots.Select(slot => new LandingNotice(
                slot, LandingKind.Checkpoint, CheckpointLayout.Blob(request.PipelineId, slot, CheckpointLayout.CheckpointFile), null))]);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors", roundTimeout: RoundTimeout);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var reconcile = Assert.Single(harness.DeadlineReconciles);
        Assert.Equal(id, reconcile.PipelineId);
        Assert.Equal([lost], reconcile.Slots);
        var merge = Assert.Single(harness.Merges);
        Assert.Contains(CheckpointLayout.Blob(id, lost, CheckpointLayout.CheckpointFile), merge.Members);
        var result = harness.Result(metadata);
        Assert.NotNull(result);
        Assert.Equal(2, Assert.Single(result.Rounds).Members.Count);
    }

    [Fact]
    public async Task RunAsync_LandingMissingAtDeadline_FailsNamingTheMissingSlot()
    {
        var missing = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(worker: job => job.Slot == missing ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors", roundTimeout: RoundTimeout);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.NotNull(metadata.FailureDetails);
        var message = metadata.FailureDetails.ErrorMessage;
        Assert.Contains(missing, message, StringComparison.Ordinal);
        Assert.Contains("did not land", message, StringComparison.Ordinal);
        Assert.DoesNotContain(CheckpointLayout.MemberSlot(1, 0), message, StringComparison.Ordinal);
        // Default retries (1): reconciled at each of the two deadlines, sent again once in between.
        Assert.All(harness.DeadlineReconciles, r => Assert.Equal([missing], r.Slots));
        Assert.Equal(2, harness.DeadlineReconciles.Count);
        Assert.Equal([missing], harness.Dispatches[1].Select(j => j.Slot));
        Assert.Empty(harness.Merges);
        Assert.Equal("failed", metadata.ReadCustomStatusAs<PipelineProgress>()?.Phase);
    }
}
