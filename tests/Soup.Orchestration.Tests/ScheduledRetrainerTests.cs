using Microsoft.DurableTask.Client;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>Scheduled retraining: one run per spec blob at a time, started with dedupe; the run records its spec version.</summary>
public sealed class ScheduledRetrainerTests
{
    private const string Blob = "weekly/quickstart.json";

    [Fact]
    public async Task StartAsync_TwiceWhileTheFirstRuns_StartsOneRun()
    {
        // The workers hold round 1's members, so the first run is still going when the second start comes.
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot.StartsWith("round-01/member-", StringComparison.Ordinal) ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors");
        var run = new ScheduledRun(Blob, "\"0x8DC1\"", DateTimeOffset.Parse("2026-11-20T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture), null, spec);

        var first = await ScheduledRetrainer.StartAsync(harness.Client, harness.Specs, run, TestContext.Current.CancellationToken);
        await harness.WaitForInstanceAsync(first.InstanceId, OrchestrationRuntimeStatus.Running);
        var second = await ScheduledRetrainer.StartAsync(harness.Client, harness.Specs, run with { SpecETag = "\"0x8DC2\"" }, TestContext.Current.CancellationToken);

        Assert.True(first.Started);
        Assert.False(second.Started);
        Assert.Equal(first.InstanceId, second.InstanceId);
        var status = await harness.WaitForRecordAsync(first.InstanceId);
        Assert.Equal(("\"0x8DC1\"", Blob), (status.SpecETag, status.SpecBlob)); // the first start's version runs
        var members = await harness.WaitForDispatchesAsync(1);
        Assert.Single(harness.Dispatches); // one pipeline's members, not two
        Assert.All(members[0], j => Assert.Equal(status.PipelineId, j.PipelineId));

        foreach (var job in members[0])
        {
            await harness.RaiseAsync(status.PipelineId, PipelineHarness.Landed(job));
        }

        var done = await harness.WaitForEndAsync(first.InstanceId);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var record = done.ReadOutputAs<ScheduledRunRecord>()!;
        Assert.Equal(status.PipelineId, record.PipelineId);
        Assert.Equal(CheckpointLayout.Blob(status.PipelineId, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile), record.FinalCheckpoint);
        Assert.Equal(run.SpecLastModified, record.SpecLastModified);
        Assert.StartsWith(first.InstanceId + "-", record.PipelineId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_AfterTheRunEnded_ReusesTheIdWithANewPipelineFolder()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors");
        var run = new ScheduledRun(Blob, "\"1\"", null, null, spec);

        var first = await ScheduledRetrainer.StartAsync(harness.Client, harness.Specs, run, TestContext.Current.CancellationToken);
        var firstRecord = (await harness.WaitForEndAsync(first.InstanceId)).ReadOutputAs<ScheduledRunRecord>()!;
        var second = await ScheduledRetrainer.StartAsync(harness.Client, harness.Specs, run with { SpecETag = "\"2\"" }, TestContext.Current.CancellationToken);
        var secondEnd = await harness.WaitForInstanceAsync(
            second.InstanceId, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed && m.ReadOutputAs<ScheduledRunRecord>()?.SpecETag == "\"2\"");

        Assert.True(first.Started);
        Assert.True(second.Started);
        Assert.Equal(first.InstanceId, second.InstanceId);
        var secondRecord = secondEnd.ReadOutputAs<ScheduledRunRecord>()!;
        Assert.Equal("\"2\"", secondRecord.SpecETag);
        Assert.NotEqual(firstRecord.PipelineId, secondRecord.PipelineId); // never the same checkpoint folder
    }

    [Fact]
    public void InstanceId_SameNameOtherBlob_Differs()
    {
        var a = ScheduledRetrainer.InstanceId("soup", "a.json");

        Assert.Equal(a, ScheduledRetrainer.InstanceId("soup", "a.json"));
        Assert.NotEqual(a, ScheduledRetrainer.InstanceId("soup", "b.json"));
        Assert.Matches("^soup-scheduled-[0-9a-f]{10}$", a);
    }
}
