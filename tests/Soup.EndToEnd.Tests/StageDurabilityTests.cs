using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Local;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// Slow is not lost, lost is sent again, failure cleans up — on the real engine (Durable Task on Azurite), real
/// workers and real training. Silence bounds of a few seconds (the orchestrator takes the spec as given; the parser's
/// one-minute minimum does not apply), heartbeats every second.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class StageDurabilityTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_MemberTrainingFarPastTheSilenceBound_IsWaitedForAndNotSentAgain()
    {
        // No retries: a stage that took the slow member for lost would fail at its first look.
        var spec = Spec(members: 1, steps: 2500, silence: TimeSpan.FromSeconds(5));
        spec.Members.Retries = 0;
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(Configuration(workers: 1));
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: Cancel);

        var view = await WaitAsync(engine, id);

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var round = Assert.Single(view.Result!.Rounds);
        Assert.Null(round.Missing);
        var member = await CheckpointAsserts.ReadAsync(Storage(engine).Checkpoints, Assert.Single(round.Members).Checkpoint);
        Assert.Equal("0", member.Metadata["resumed_from_step"]); // trained once, start to end
    }

    [Fact]
    public async Task Run_WorkerKilledMidJob_TheJobIsSentAgainAfterTheSilenceBoundAndResumes()
    {
        var spec = Spec(members: 1, steps: 2500, silence: TimeSpan.FromSeconds(5));
        var configuration = Configuration(workers: 0);
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var storage = Storage(engine);
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: Cancel);
        var resume = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile));

        // The first worker holds its message for ten minutes: only the stage's re-dispatch can bring the job back.
        using (var first = ProductProcess.Start(configuration, new Dictionary<string, string> { ["JobVisibilityTimeout"] = "00:10:00", ["HeartbeatInterval"] = "00:00:01" }))
        {
            await WaitUntilAsync(async () => (await resume.ExistsAsync()).Value, first);
            first.Crash();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        using var second = ProductProcess.Start(configuration, new Dictionary<string, string> { ["HeartbeatInterval"] = "00:00:01" });
        var view = await WaitAsync(engine, id);

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}\n{second.Log}");
        var member = await CheckpointAsserts.ReadAsync(storage.Checkpoints, Assert.Single(view.Result!.Rounds[0].Members).Checkpoint);
        Assert.True(int.Parse(member.Metadata["resumed_from_step"], System.Globalization.CultureInfo.InvariantCulture) > 0, "the second worker started over");
        Assert.Contains("resumes from its checkpoint", second.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PipelineFailsWhileAMemberTrains_TheWorkerDropsItsJobs()
    {
        var spec = Spec(members: 2, steps: 1_000_000, silence: TimeSpan.FromMinutes(5));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(Configuration(workers: 1));
        var storage = Storage(engine);
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: Cancel);

        // One worker: one member trains, the other waits on the queue. The waiting one fails (as a worker would record
        // it), so the quorum (both) is lost and the pipeline fails.
        var slots = new[] { CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.MemberSlot(1, 1) };
        string running = "";
        await WaitUntilAsync(
            async () =>
            {
                foreach (var slot in slots)
                {
                    if ((await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, slot, CheckpointLayout.ProgressFile)).ExistsAsync()).Value)
                    {
                        running = slot;
                        return true;
                    }
                }

                return false;
            },
            null);
        var waiting = slots.Single(s => s != running);
        var record = new FailureRecord($"{id}/{waiting}", "injected by the test", "test", DateTimeOffset.UtcNow);
        await storage.TryCreateJsonAsync(CheckpointLayout.Blob(id, waiting, CheckpointLayout.FailureFile), record, SoupJson.Default.FailureRecord, await TestLandings.StampAsync(engine.Client, id, waiting), Cancel);

        var view = await WaitAsync(engine, id);
        Assert.Equal("Failed", view.RuntimeStatus);
        var content = (await storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(id)).DownloadContentAsync(Cancel)).Value.Content;
        var marker = CancellationMarker.FromJson(content.ToMemory().Span)!;
        Assert.Contains("the pipeline failed", marker.Reason, StringComparison.Ordinal);

        // The worker drops the training job (and the queued copy of the failed one): the queue empties, no output lands.
        await WaitUntilAsync(async () => (await storage.Jobs.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, null);
        Assert.False((await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, running, CheckpointLayout.CheckpointFile)).ExistsAsync(Cancel)).Value);
        Assert.False((await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, running, CheckpointLayout.FailureFile)).ExistsAsync(Cancel)).Value);
    }

    [Fact]
    public async Task ScheduledRetraining_OneSpecsDatasetContainerMissing_TheOthersStart_AndCancellingARunReachesItsPipeline()
    {
        // The missing container is a dataset container of this deployment (else the start refuses it before looking).
        var configuration = new ConfigurationBuilder().AddConfiguration(Configuration(workers: 0))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DatasetContainers"] = "datasets,no-such-container" }).Build();
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var storage = Storage(engine);
        var quickstart = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "examples", "quickstart.json"), Cancel))!;
        var broken = quickstart.DeepClone();
        broken["name"] = "broken";
        broken["data"]!["dataset"] = "blob:no-such-container/images";
        var good = quickstart.DeepClone();
        good["name"] = "good";
        await storage.Specs.UploadBlobAsync("a-broken.json", BinaryData.FromString(broken.ToJsonString()), Cancel);
        await storage.Specs.UploadBlobAsync("b-good.json", BinaryData.FromString(good.ToJsonString()), Cancel);

        var starts = await engine.Services.GetRequiredService<ScheduledRetrainer>().StartAllAsync(engine.Client, Cancel);

        var failed = Assert.Single(starts, s => s.SpecBlob == "a-broken.json");
        Assert.False(failed.Started);
        Assert.Contains("no-such-container", failed.Error, StringComparison.OrdinalIgnoreCase);
        var started = Assert.Single(starts, s => s.SpecBlob == "b-good.json");
        Assert.True(started.Started, started.Error);

        // Cancel the scheduled run: the pipeline it started ({run}-{time}-{random}) is cancelled too, marker included.
        var run = await WaitForRecordAsync(engine.Client, started.InstanceId);
        await new PipelineCanceller(engine.Client, storage).CancelAsync(started.InstanceId, "stopped by the test", DateTimeOffset.UtcNow, Cancel);
        Assert.True((await storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(run.PipelineId)).ExistsAsync(Cancel)).Value);
        using var wait = new CancellationTokenSource(Timeout);
        var pipeline = await engine.Client.WaitForInstanceCompletionAsync(run.PipelineId, cancellation: wait.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, pipeline.RuntimeStatus);
    }

    private IConfiguration Configuration(int workers) => new ConfigurationBuilder()
        .AddConfiguration(fixture.NewConfiguration(workers))
        .AddInMemoryCollection(new Dictionary<string, string?> { ["HeartbeatInterval"] = "00:00:01" })
        .Build();

    private static PipelineSpec Spec(int members, int steps, TimeSpan silence) => new()
    {
        Name = "durable",
        Seed = 5,
        Rounds = 1,
        Data = new DataSpec { Dataset = "tiny", ValidationFraction = 0.2, EvalSplit = "test" },
        Init = new InitSpec { PretrainSteps = 10, LearningRate = 0.05 },
        Members = new MembersSpec { Count = members, Steps = steps, BatchSize = 32, LearningRates = [0.01, 0.02] },
        RoundTimeout = silence,
    };

    private static SoupStorage Storage(Soup.Local.LocalEngine engine) => engine.Services.GetRequiredService<SoupStorage>();

    private static async Task<PipelineStatusView> WaitAsync(Soup.Local.LocalEngine engine, string id)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var metadata = await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancel.Token);
        return await RoundResults.LoadAsync(engine.Services.GetRequiredService<SoupStorage>(), PipelineStatusView.From(metadata), cancel.Token);
    }

    private static async Task<ScheduledRunRecord> WaitForRecordAsync(DurableTaskClient client, string instanceId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, Cancel);
            if (metadata?.ReadCustomStatusAs<ScheduledRunRecord>() is { } record)
                return record;
            Assert.True(DateTime.UtcNow < deadline, "the scheduled run recorded no pipeline");
            await Task.Delay(200, Cancel);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, ProductProcess? worker)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out; the worker's log:\n{worker?.Log}");
            await Task.Delay(200);
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("no Pipeline.sln above the test output");
    }
}
