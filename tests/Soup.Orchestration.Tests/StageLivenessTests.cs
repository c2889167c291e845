using Microsoft.DurableTask.Client;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>
/// Slow is not lost: at each look a stage waits for jobs whose heartbeat is fresh and sends again only those silent for
/// the whole bound; jobs a stage gives up on, and every job of a pipeline that fails, are stopped (cancellation
/// markers). Deadlines are 2-3 s: the in-memory engine's timers run in real time.
/// </summary>
public sealed class StageLivenessTests
{
    private const string Base = "bases/model.safetensors";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task RunAsync_SlowMemberWithAFreshHeartbeat_IsWaitedForPastManyDeadlinesAndNeverSentAgain()
    {
        var slow = CheckpointLayout.MemberSlot(1, 1);
        var looks = 0;
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == slow ? [] : [PipelineHarness.Landed(job)],
            reconcile: request =>
            {
                if (!request.AtDeadline)
                    return [];
                Assert.Equal(Deadline, request.HeartbeatWindow);

                // Alive at the first three looks (it trains past three deadlines), landed at the fourth (event lost).
                var kind = Interlocked.Increment(ref looks) <= 3 ? LandingKind.Alive : LandingKind.Checkpoint;
                var file = kind == LandingKind.Alive ? CheckpointLayout.ProgressFile : CheckpointLayout.CheckpointFile;
                return [.. request.Slots.Select(s => new LandingNotice(s, kind, CheckpointLayout.Blob(request.PipelineId, s, file), null))];
            });
        // No retries at all: a stage that counted the slow member as lost would fail at the first deadline.
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: Base, roundTimeout: Deadline, retries: 0);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal([2, 1], harness.Dispatches.Select(d => d.Length)); // the members once, then the evaluation
        Assert.Equal(4, harness.DeadlineReconciles.Count);
        Assert.All(harness.Dispatches[0], j => Assert.Equal(Deadline, j.HeartbeatTimeout)); // workers judge "alive" as the stage does
        Assert.Equal(2, Assert.Single(harness.Result(metadata)!.Rounds).Members.Count);
        Assert.Empty(harness.Stops);
    }

    [Fact]
    public async Task RunAsync_SilentMemberGivenUpUnderQuorum_TheRoundGoesOnAndThatJobIsStopped()
    {
        var silent = CheckpointLayout.MemberSlot(1, 2);
        await using var harness = await PipelineHarness.StartAsync(worker: job => job.Slot == silent ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, roundTimeout: Deadline, quorum: 2, retries: 0);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var stop = Assert.Single(harness.Stops);
        Assert.Equal(id, stop.PipelineId);
        Assert.Equal([silent], stop.Slots!);
        Assert.Contains("went on without it", stop.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AliveMemberPastTheStageDeadline_IsGivenUpAndThePipelineFailsAndStopsItsJobs()
    {
        var stuck = CheckpointLayout.MemberSlot(1, 0);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == stuck ? [] : [PipelineHarness.Landed(job)],
            reconcile: request => request.AtDeadline
                ? [.. request.Slots.Select(s => new LandingNotice(s, LandingKind.Alive, CheckpointLayout.Blob(request.PipelineId, s, CheckpointLayout.ProgressFile), null))]
                : []);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: Base, roundTimeout: Deadline, retries: 3);
        spec.StageDeadline = TimeSpan.FromSeconds(5);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.Contains("overall bound", metadata.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains($"{id}/{stuck}", metadata.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Single(harness.Dispatches); // alive all along: never sent again
        Assert.Contains(harness.Stops, s => s.PipelineId == id && s.Slots is null && s.Reason.Contains("failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_MemberFailsAndQuorumIsLost_EveryJobOfThePipelineIsStopped()
    {
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == CheckpointLayout.MemberSlot(1, 0) ? [PipelineHarness.Failed(job, "out of memory")] : []);
        var spec = TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: Base, roundTimeout: TimeSpan.FromMinutes(5));

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        var stop = Assert.Single(harness.Stops); // the two members still training are stopped with the pipeline
        Assert.Null(stop.Slots);
        Assert.Equal(id, stop.PipelineId);
        Assert.Contains("out of memory", stop.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduledRun_ItsPipelineTerminated_FailsWithTheReasonNotANullReference()
    {
        await using var harness = await PipelineHarness.StartAsync(worker: _ => []);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: Base);
        var run = new ScheduledRun("weekly/a.json", "\"1\"", DateTimeOffset.UnixEpoch, null, spec);

        var start = await ScheduledRetrainer.StartAsync(harness.Client, harness.Specs, run, TestContext.Current.CancellationToken);
        var record = await harness.WaitForRecordAsync(start.InstanceId);
        await harness.WaitForInstanceAsync(record.PipelineId, OrchestrationRuntimeStatus.Running);
        await harness.Client.TerminateInstanceAsync(record.PipelineId, "cancelled by a test", TestContext.Current.CancellationToken);
        var ended = await harness.WaitForEndAsync(start.InstanceId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, ended.RuntimeStatus);
        Assert.Contains(record.PipelineId, ended.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Object reference", ended.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }
}
