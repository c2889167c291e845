using Microsoft.DurableTask.Client;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>The pipeline writes its report (through the WriteReport activity) when it completes and when it fails.</summary>
public sealed class PipelineReportStepTests
{
    [Fact]
    public async Task RunAsync_Completes_WritesOneReportWithTheResultAndFinalProgress()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var id = await harness.StartPipelineAsync(TestSpecs.Create(rounds: 2, members: 2));

        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var report = Assert.Single(harness.Reports);
        Assert.Equal((id, "Completed"), (report.Id, report.RuntimeStatus));
        Assert.Equal(metadata.ReadOutputAs<PipelineResult>(), report.Result, ResultComparer.Instance);
        Assert.Equal("completed", report.Progress!.Phase);
        Assert.Null(report.Failure);
        Assert.True(report.LastUpdatedAt >= report.CreatedAt);
    }

    [Fact]
    public async Task RunAsync_MemberFailsBeyondQuorum_WritesAFailedReportWithTheReason()
    {
        const string Reason = "dataset 'nowhere' not found";
        var failing = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == failing ? [PipelineHarness.Failed(job, Reason)] : [PipelineHarness.Landed(job)]);
        var id = await harness.StartPipelineAsync(TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/init.safetensors"));

        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        var report = Assert.Single(harness.Reports);
        Assert.Equal((id, "Failed"), (report.Id, report.RuntimeStatus));
        Assert.Contains(Reason, report.Failure, StringComparison.Ordinal);
        Assert.Equal("failed", report.Progress!.Phase);
        Assert.Empty(report.Result!.Rounds);
    }

    [Fact]
    public async Task RunAsync_FailsInRound2_WritesAFailedReportWithRound1sResult()
    {
        var failing = CheckpointLayout.MemberSlot(2, 0);
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot == failing ? [PipelineHarness.Failed(job, "out of memory")] : [PipelineHarness.Landed(job)]);
        var id = await harness.StartPipelineAsync(TestSpecs.Create(rounds: 2, members: 2, initCheckpoint: "bases/init.safetensors"));

        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        var report = Assert.Single(harness.Reports);
        Assert.Equal("Failed", report.RuntimeStatus);
        var round = Assert.Single(report.Result!.Rounds);
        Assert.Equal(1, round.Round);
        Assert.Equal(RoundResults.BlobName(id, 1), round.Details); // the activity loads it in full, and stores it with the report
        Assert.Equal("", report.Result.FinalCheckpoint); // none chosen
        Assert.Contains("out of memory", report.Failure, StringComparison.Ordinal);
    }

    /// <summary>Results compared by their JSON (records holding lists compare lists by reference).</summary>
    private sealed class ResultComparer : IEqualityComparer<PipelineResult?>
    {
        public static readonly ResultComparer Instance = new();

        public bool Equals(PipelineResult? x, PipelineResult? y) =>
            System.Text.Json.JsonSerializer.Serialize(x) == System.Text.Json.JsonSerializer.Serialize(y);

        public int GetHashCode(PipelineResult? obj) => 0;
    }
}
