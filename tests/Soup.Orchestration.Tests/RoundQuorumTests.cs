using Microsoft.DurableTask.Client;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>
/// Members that never land or fail: the per-attempt deadline, reconcile, re-dispatch and the quorum. Deadlines are 3 s
/// (the in-memory engine's timers run in real time; the parser's one-minute minimum does not apply to the orchestrator).
/// </summary>
public sealed class RoundQuorumTests
{
    private const string Base = "bases/model.safetensors";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task RunAsync_WorkerNeverAnswersOneMember_ResentOnceThenRoundGoesOnWithQuorum()
    {
        var silent = CheckpointLayout.MemberSlot(1, 2);
        await using var harness = await PipelineHarness.StartAsync(worker: job => job.Slot == silent ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, roundTimeout: Deadline, quorum: 2, retries: 1);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var dispatches = harness.Dispatches;
        Assert.Equal([3, 1, 1], dispatches.Select(d => d.Length)); // members, the silent one again, evaluation
        var resent = Assert.Single(dispatches[1]);
        Assert.Equal(dispatches[0].Single(j => j.Slot == silent), resent); // the very same job: same id, idempotent
        Assert.Equal($"{id}/{silent}", resent.JobId);
        Assert.Equal(2, harness.DeadlineReconciles.Count); // at each deadline, before re-sending and before giving up
        Assert.All(harness.DeadlineReconciles, r => Assert.Equal([silent], r.Slots));

        var merge = Assert.Single(harness.Merges);
        Assert.Equal([Member(id, 0), Member(id, 1)], merge.Members);
        Assert.Equal("2", merge.Metadata["members"]);
        Assert.Equal("2", merge.Metadata["missing_members"]);
        var evaluation = Assert.IsType<EvaluateJob>(Assert.Single(dispatches[2]));
        Assert.Equal([Member(id, 0), Member(id, 1), Soup(id)], evaluation.Checkpoints);

        var round = Assert.Single(harness.Result(metadata)!.Rounds);
        Assert.Equal([0, 1], round.Members.Select(m => m.Member));
        var missing = Assert.Single(round.Missing!);
        Assert.Equal((2, $"{id}/{silent}", 2), (missing.Member, missing.JobId, missing.Dispatches));
        Assert.Contains("did not land", missing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_TwoMembersNeverLandQuorumTwoOfThree_FailsNamingBothMissingJobs()
    {
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == CheckpointLayout.MemberSlot(1, 0) ? [PipelineHarness.Landed(job)] : []);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, roundTimeout: Deadline, quorum: 2, retries: 1);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        var message = metadata.FailureDetails!.ErrorMessage;
        Assert.Contains(nameof(PipelineFailedException), metadata.FailureDetails.ErrorType, StringComparison.Ordinal);
        Assert.Contains($"{id}/{CheckpointLayout.MemberSlot(1, 1)}", message, StringComparison.Ordinal);
        Assert.Contains($"{id}/{CheckpointLayout.MemberSlot(1, 2)}", message, StringComparison.Ordinal);
        Assert.DoesNotContain(CheckpointLayout.MemberSlot(1, 0), message, StringComparison.Ordinal);
        Assert.Contains("1 of 3 job(s) landed, 2 needed", message, StringComparison.Ordinal);
        Assert.Contains("2 dispatches", message, StringComparison.Ordinal);
        Assert.Equal([3, 2], harness.Dispatches.Select(d => d.Length));
        Assert.Empty(harness.Merges);

        var progress = metadata.ReadCustomStatusAs<PipelineProgress>();
        Assert.Equal(("failed", 1), (progress!.Phase, progress.Round));
        Assert.Contains(CheckpointLayout.MemberSlot(1, 2), progress.Message, StringComparison.Ordinal);
        var round = await harness.Client.GetInstanceAsync(LandingEvents.RoundInstance(id, 1), getInputsAndOutputs: true, TestContext.Current.CancellationToken);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, round!.RuntimeStatus);
    }

    [Fact]
    public async Task RunAsync_FailureRecordWithinQuorum_MemberFailedAtOnceAndRoundGoesOn()
    {
        const string Reason = "CUDA out of memory";
        var failing = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == failing ? [PipelineHarness.Failed(job, Reason)] : [PipelineHarness.Landed(job)]);

        // A deadline far beyond the harness's patience: completing at all proves nobody waited for it.
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, quorum: 2);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal([3, 1], harness.Dispatches.Select(d => d.Length)); // the failed member is not sent again
        Assert.Empty(harness.DeadlineReconciles);
        Assert.Equal([Member(id, 0), Member(id, 2)], Assert.Single(harness.Merges).Members);
        var round = Assert.Single(harness.Result(metadata)!.Rounds);
        Assert.Equal([0, 2], round.Members.Select(m => m.Member));
        var missing = Assert.Single(round.Missing!);
        Assert.Equal(1, missing.Member);
        Assert.Contains(Reason, missing.Reason, StringComparison.Ordinal);
        Assert.StartsWith("failed: ", missing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WeightedLinearMemberMissing_MergesTheLandedMembersWeights()
    {
        var failing = CheckpointLayout.MemberSlot(1, 0);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == failing ? [PipelineHarness.Failed(job, "bad")] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, quorum: 2);
        spec.Merge.Weights = [1, 2, 3];

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal([2.0, 3.0], Assert.Single(harness.Merges).Parameters.Weights!);
    }

    [Fact]
    public async Task RunAsync_SilentMemberLandsAfterResend_RoundHasEveryMember()
    {
        var late = CheckpointLayout.MemberSlot(1, 1);
        var sent = 0;
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot != late || Interlocked.Increment(ref sent) == 2 ? [PipelineHarness.Landed(job)] : []);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: Base, roundTimeout: Deadline, retries: 2);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal([2, 1, 1], harness.Dispatches.Select(d => d.Length));
        var round = Assert.Single(harness.Result(metadata)!.Rounds);
        Assert.Equal([0, 1], round.Members.Select(m => m.Member));
        Assert.Null(round.Missing);
    }

    [Fact]
    public async Task Progress_FailedAndHeldMembers_ShowsLiveCountsOfTheRound()
    {
        var held = CheckpointLayout.MemberSlot(1, 2);
        await using var harness = await PipelineHarness.StartAsync(worker: job =>
            job.Slot == CheckpointLayout.MemberSlot(1, 0) ? [PipelineHarness.Failed(job, "bad")]
            : job.Slot == held ? []
            : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, quorum: 1);
        var id = await harness.StartPipelineAsync(spec);

        var progress = await harness.WaitForProgressAsync(id, p => p is { Landed: 1, Failed: 1 });

        Assert.Equal(new PipelineProgress("training", 1, 1, 1, 1, 1, null, null, LandingEvents.RoundInstance(id, 1), Name: "orch-test"), progress);
        await harness.RaiseAsync(id, PipelineHarness.Landed(harness.Dispatches[0].Single(j => j.Slot == held)));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await harness.WaitForEndAsync(id)).RuntimeStatus);
    }

    private static string Member(string id, int member) =>
        CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, member), CheckpointLayout.CheckpointFile);

    private static string Soup(string id) => CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile);
}
