using Microsoft.DurableTask.Client;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>
/// Transient activity faults are retried with the spec's bounded exponential policy: a pipeline whose every kind of
/// activity fails once (or twice) still completes; one whose merge keeps failing fails after its attempts and stops
/// its jobs.
/// </summary>
public sealed class ActivityRetryTests
{
    private static readonly RetrySpec Quick = new() { MaxAttempts = 3, FirstInterval = TimeSpan.FromMilliseconds(200), MaxInterval = TimeSpan.FromMilliseconds(400) };

    [Fact]
    public async Task RunAsync_EveryActivityFailsTransiently_IsRetriedAndThePipelineCompletes()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors");
        spec.Retry = Quick;
        foreach (var activity in new[] { TaskNames.DispatchJobs, TaskNames.ReconcileLandings, TaskNames.SummarizeRound, TaskNames.WriteReport })
            harness.FailNext(activity, 1);
        harness.FailNext(TaskNames.MergeCheckpoints, 2);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(3, harness.Calls(TaskNames.MergeCheckpoints)); // two faults, then the merge
        Assert.Single(harness.Merges);
        Assert.Equal(2, harness.Calls(TaskNames.WriteReport));
        Assert.Single(harness.Reports);
        Assert.Equal([2, 1], harness.Dispatches.Select(d => d.Length)); // the failed dispatch left nothing behind
    }

    [Fact]
    public async Task RunAsync_MergeFailsBeyondItsAttempts_FailsThePipelineAndStopsItsJobs()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors");
        spec.Retry = Quick;
        harness.FailNext(TaskNames.MergeCheckpoints, 10);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.Equal(3, harness.Calls(TaskNames.MergeCheckpoints)); // MaxAttempts, no more
        Assert.Contains("transient fault injected", metadata.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        var stop = Assert.Single(harness.Stops);
        Assert.Null(stop.Slots);
    }

    [Fact]
    public async Task RunAsync_PipelineFailure_IsNotRetried()
    {
        await using var harness = await PipelineHarness.StartAsync(worker: job => [PipelineHarness.Failed(job, "bad data")]);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors");
        spec.Retry = Quick;

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.Single(harness.Dispatches); // the round was not run again
    }
}
