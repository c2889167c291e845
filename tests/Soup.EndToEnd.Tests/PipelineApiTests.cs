using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// <see cref="PipelineApi"/> (the logic behind both HTTP hosts) on the local engine against Azurite: idempotent starts,
/// status, listing by status, and cancellation down to a worker dropping the cancelled pipeline's queued job.
/// </summary>
public sealed class PipelineApiTests(ApiEngineFixture engine) : IClassFixture<ApiEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_SameIdempotencyKeyTwice_ReturnsTheSameInstanceAndStartsNoSecond()
    {
        var key = "order-" + Guid.NewGuid();

        var first = await engine.Api.StartAsync(ApiEngineFixture.SpecJson(), key, ApiEngineFixture.PipelinesUri, Cancel);
        var second = await engine.Api.StartAsync(ApiEngineFixture.SpecJson(), key, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(202, first.StatusCode);
        Assert.Equal(202, second.StatusCode);
        var a = (PipelineAccepted)first.Body;
        var b = (PipelineAccepted)second.Body;
        Assert.Equal(a.Id, b.Id);
        Assert.True(a.Created);
        Assert.False(b.Created);
        Assert.Equal(PipelineStarter.PipelineIdForKey(key), a.Id);
        Assert.Equal($"http://127.0.0.1:7071/api/pipelines/{a.Id}", a.StatusUri);
        Assert.Equal(a.StatusUri, first.Location);
        var instances = await InstancesWithPrefixAsync(a.Id);
        Assert.Single(instances);
    }

    [Fact]
    public async Task Start_DifferentIdempotencyKeys_StartDifferentInstances()
    {
        var one = await engine.StartAsync(ApiEngineFixture.SpecJson(), "k1-" + Guid.NewGuid());
        var two = await engine.StartAsync(ApiEngineFixture.SpecJson(), "k2-" + Guid.NewGuid());

        Assert.NotEqual(one, two);
        Assert.NotNull(await engine.Client.GetInstanceAsync(one, Cancel));
        Assert.NotNull(await engine.Client.GetInstanceAsync(two, Cancel));
    }

    [Fact]
    public async Task Start_SameKeyConcurrently_AllCallersGetOneInstance()
    {
        var key = "race-" + Guid.NewGuid();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            engine.Api.StartAsync(ApiEngineFixture.SpecJson(), key, ApiEngineFixture.PipelinesUri, Cancel)));

        Assert.All(results, r => Assert.Equal(202, r.StatusCode));
        Assert.Single(results.Select(r => ((PipelineAccepted)r.Body).Id).Distinct());
        var id = ((PipelineAccepted)results[0].Body).Id;
        Assert.Single(await InstancesWithPrefixAsync(id));
        await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);
    }

    [Fact]
    public async Task Start_SameKeyWithADifferentSpec_Answers409AndKeepsTheFirst()
    {
        var key = "changed-" + Guid.NewGuid();
        var id = await engine.StartAsync(ApiEngineFixture.SpecJson(seed: 1), key);

        var result = await engine.Api.StartAsync(ApiEngineFixture.SpecJson(seed: 2), key, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(409, result.StatusCode);
        Assert.Equal("application/problem+json", result.ContentType);
        Assert.Equal(id, ((ApiProblem)result.Body).Id);
    }

    [Fact]
    public async Task Start_SameKeyAfterThePipelineEnded_StartsNothingNew()
    {
        var key = "ended-" + Guid.NewGuid();
        var id = await engine.StartAsync(ApiEngineFixture.SpecJson(), key);
        await engine.WaitForQueuedJobAsync(id);
        Assert.Equal(202, (await engine.Api.CancelAsync(id, null, ApiEngineFixture.PipelinesUri, Cancel)).StatusCode);
        var ended = await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Terminated);

        var again = await engine.Api.StartAsync(ApiEngineFixture.SpecJson(), key, ApiEngineFixture.PipelinesUri, Cancel);
        await Task.Delay(TimeSpan.FromSeconds(2), Cancel);

        Assert.Equal(202, again.StatusCode);
        Assert.Equal(id, ((PipelineAccepted)again.Body).Id);
        Assert.False(((PipelineAccepted)again.Body).Created);
        var now = await engine.Client.GetInstanceAsync(id, Cancel);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, now!.RuntimeStatus);
        Assert.Equal(ended.CreatedAt, now.CreatedAt);
        Assert.Null(CheckpointLayout.Parse(IdempotencyClaim.BlobName(id)));
    }

    [Fact]
    public async Task Start_KeyClaimedByARequestThatDied_IsTakenOverAfterTheGracePeriod()
    {
        var key = "abandoned-" + Guid.NewGuid();
        var id = PipelineStarter.PipelineIdForKey(key);
        var spec = Soup.Core.Specs.SpecParser.Parse(ApiEngineFixture.SpecJson()).Spec!;
        var stale = new IdempotencyClaim(id, Soup.Core.Specs.SpecHash.Compute(spec), DateTimeOffset.UtcNow - PipelineApi.ClaimGrace - TimeSpan.FromSeconds(5));
        Assert.True(await engine.Storage.TryCreateBlobAsync(IdempotencyClaim.BlobName(id), new MemoryStream(stale.ToJson()), Cancel));

        var result = await engine.Api.StartAsync(ApiEngineFixture.SpecJson(), key, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(202, result.StatusCode);
        Assert.True(((PipelineAccepted)result.Body).Created);
        Assert.NotNull(await engine.Client.GetInstanceAsync(id, Cancel));
    }

    [Fact]
    public async Task Start_KeyWhosePipelineWasPurged_ButWhoseFolderRemains_Answers409AndStartsNothing()
    {
        // What retention leaves of an ended pipeline: its instance purged, a soup kept in its folder.
        var key = "purged-" + Guid.NewGuid();
        var id = PipelineStarter.PipelineIdForKey(key);
        var soup = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile);
        await engine.Storage.Checkpoints.GetBlobClient(soup).UploadAsync(BinaryData.FromString("kept"), Cancel);

        var result = await engine.Api.StartAsync(ApiEngineFixture.SpecJson(), key, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(409, result.StatusCode);
        Assert.Contains($"folder '{id}/'", ((ApiProblem)result.Body).Detail, StringComparison.Ordinal);
        Assert.Null(await engine.Client.GetInstanceAsync(id, Cancel));
        Assert.Equal("kept", (await engine.Storage.Checkpoints.GetBlobClient(soup).DownloadContentAsync(Cancel)).Value.Content.ToString());
    }

    [Fact]
    public async Task Start_DrawsAnotherId_WhenTheFirstNamesAFolderInUse()
    {
        var spec = Soup.Core.Specs.SpecParser.Parse(ApiEngineFixture.SpecJson()).Spec!;
        var taken = "taken-" + Guid.NewGuid().ToString("N")[..12];
        var fresh = "fresh-" + Guid.NewGuid().ToString("N")[..12];
        await engine.Storage.Checkpoints.GetBlobClient($"{taken}/round-01/soup/model.safetensors").UploadAsync(BinaryData.FromString("old"), Cancel);
        var draws = new Queue<string>([taken, fresh]);

        var id = await PipelineStarter.StartAsync(engine.Client, new BlobSpecStore(engine.Storage), spec, draws.Dequeue, Cancel, engine.Storage);

        Assert.Equal(fresh, id);
        Assert.Null(await engine.Client.GetInstanceAsync(taken, Cancel));
        Assert.NotNull(await engine.Client.GetInstanceAsync(fresh, Cancel));
        Assert.False(await PipelineStarter.FolderInUseAsync(engine.Storage, "never-" + Guid.NewGuid().ToString("N")[..12], Cancel));
    }

    [Fact]
    public async Task Start_InvalidSpec_Answers400WithEveryProblemAndStartsNothing()
    {
        var key = "invalid-" + Guid.NewGuid();

        var result = await engine.Api.StartAsync("""{ "version": 1, "name": "Bad Name", "rounds": 100 }""", key, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(400, result.StatusCode);
        Assert.Equal(["$.name", "$.rounds"], ((SpecProblemDetails)result.Body).Errors.Select(e => e.Path));
        Assert.Null(await engine.Client.GetInstanceAsync(PipelineStarter.PipelineIdForKey(key), Cancel));
    }

    [Fact]
    public async Task Get_UnknownId_Answers404ProblemNamingIt()
    {
        var result = await engine.Api.GetAsync("no-such-pipeline", Cancel);

        Assert.Equal(404, result.StatusCode);
        Assert.Equal("application/problem+json", result.ContentType);
        Assert.Contains("no-such-pipeline", ((ApiProblem)result.Body).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_RunningPipeline_AnswersTheStatusView()
    {
        var id = await engine.StartAsync(ApiEngineFixture.SpecJson());
        await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);

        var result = await engine.Api.GetAsync(id, Cancel);

        Assert.Equal(200, result.StatusCode);
        var view = (PipelineStatusView)result.Body;
        Assert.Equal(id, view.Id);
        Assert.Equal("Running", view.RuntimeStatus);
        Assert.False(view.IsTerminal);
    }

    [Fact]
    public async Task List_FiltersByStatus_NewestFirst()
    {
        var failed = await engine.StartFailedAsync("listfail");
        var running = await engine.StartAsync(ApiEngineFixture.SpecJson("listrun"));
        await engine.WaitForStatusAsync(running, OrchestrationRuntimeStatus.Running);

        var onlyRunning = (PipelineList)(await engine.Api.ListAsync("Running", Cancel)).Body;
        var onlyFailed = (PipelineList)(await engine.Api.ListAsync("failed", Cancel)).Body;
        var both = (PipelineList)(await engine.Api.ListAsync("Running,Failed", Cancel)).Body;
        var all = (PipelineList)(await engine.Api.ListAsync(null, Cancel)).Body;

        Assert.Contains(onlyRunning.Pipelines, p => p.Id == running && p.Name == "listrun" && p.Status == "Running");
        Assert.DoesNotContain(onlyRunning.Pipelines, p => p.Id == failed);
        Assert.All(onlyRunning.Pipelines, p => Assert.Equal("Running", p.Status));
        Assert.Contains(onlyFailed.Pipelines, p => p.Id == failed && p.Name == "listfail");
        Assert.DoesNotContain(onlyFailed.Pipelines, p => p.Id == running);
        Assert.Contains(both.Pipelines, p => p.Id == running);
        Assert.Contains(both.Pipelines, p => p.Id == failed);
        Assert.Equal(all.Pipelines.OrderByDescending(p => p.CreatedAt).Select(p => p.Id), all.Pipelines.Select(p => p.Id));
        Assert.True(all.Pipelines.ToList().FindIndex(p => p.Id == running) < all.Pipelines.ToList().FindIndex(p => p.Id == failed));
    }

    [Fact]
    public async Task List_UnknownStatus_Answers400NamingIt()
    {
        var result = await engine.Api.ListAsync("Running,Sleeping", Cancel);

        Assert.Equal(400, result.StatusCode);
        Assert.Contains("'Sleeping'", ((ApiProblem)result.Body).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_UnknownId_Answers404()
    {
        var result = await engine.Api.CancelAsync("no-such-pipeline", null, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(404, result.StatusCode);
        Assert.False(await engine.Storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName("no-such-pipeline")).ExistsAsync(Cancel));
    }

    [Fact]
    public async Task Cancel_FailedPipeline_Answers409()
    {
        var id = await engine.StartFailedAsync("cancelfail");

        var result = await engine.Api.CancelAsync(id, null, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(409, result.StatusCode);
        Assert.Contains("Failed", ((ApiProblem)result.Body).Detail, StringComparison.Ordinal);

        // The marker there is the one the pipeline wrote when it failed (to stop its jobs), not the refused cancel's.
        var content = (await engine.Storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(id)).DownloadContentAsync(Cancel)).Value.Content;
        Assert.StartsWith("the pipeline failed", CancellationMarker.FromJson(content.ToMemory().Span)!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetReport_FailedPipeline_AnswersTheReportStoredWhenItFailed()
    {
        var id = await engine.StartFailedAsync("reportfail");
        var stored = (await engine.Storage.Reports.GetBlobClient(PipelineReports.BlobName(id)).DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content.ToString();

        var result = await engine.Api.GetReportAsync(id, TestContext.Current.CancellationToken);

        Assert.Equal((200, "text/html"), (result.StatusCode, result.ContentType));
        Assert.Equal(stored, result.ToText());
        Assert.Contains("failed on purpose by the test", stored, StringComparison.Ordinal);
        Assert.Contains("<th scope=\"row\">status</th><td>Failed</td>", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InternalInstances_AreNotAddressable_GetReportAndCancelAnswer404()
    {
        var id = await engine.StartAsync(ApiEngineFixture.SpecJson("internal"));
        await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);
        var round = LandingEvents.RoundInstance(id, 1);
        await engine.Client.ScheduleNewOrchestrationInstanceAsync(TaskNames.Round, input: null, new Microsoft.DurableTask.StartOrchestrationOptions(round), Cancel);
        Assert.NotNull(await engine.Client.GetInstanceAsync(round, Cancel));

        var get = await engine.Api.GetAsync(round, Cancel);
        var report = await engine.Api.GetReportAsync(round, Cancel);
        var cancel = await engine.Api.CancelAsync(round, null, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal((404, 404, 404), (get.StatusCode, report.StatusCode, cancel.StatusCode));
        Assert.False((await engine.Storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(round)).ExistsAsync(Cancel)).Value);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await engine.Client.GetInstanceAsync(id, Cancel))!.RuntimeStatus);
        Assert.Equal(200, (await engine.Api.GetAsync(id, Cancel)).StatusCode);
    }

    [Fact]
    public async Task Start_AnIdThatIsTaken_IsDrawnAgain_AndTheExistingPipelineIsUntouched()
    {
        var taken = await engine.StartAsync(ApiEngineFixture.SpecJson("taken", seed: 1));
        var before = await engine.Client.GetInstanceAsync(taken, getInputsAndOutputs: true, Cancel);
        var spec = Soup.Core.Specs.SpecParser.Parse(ApiEngineFixture.SpecJson("taken", seed: 2)).Spec!;
        var fresh = "taken-" + Guid.NewGuid().ToString("N");
        var draws = new Queue<string>([taken, fresh]);

        var id = await PipelineStarter.StartAsync(engine.Client, new BlobSpecStore(engine.Storage), spec, draws.Dequeue, Cancel);

        Assert.Equal(fresh, id);
        var after = await engine.Client.GetInstanceAsync(taken, getInputsAndOutputs: true, Cancel);
        Assert.Equal((before!.CreatedAt, before.SerializedInput), (after!.CreatedAt, after.SerializedInput));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => PipelineStarter.StartAsync(engine.Client, new BlobSpecStore(engine.Storage), spec, () => taken, Cancel));
        Assert.Contains("were all taken", refused.Message, StringComparison.Ordinal);
        Assert.Matches(@"\Ataken-\d{8}-\d{6}-[0-9a-f]{16}\z", PipelineStarter.NewPipelineId("taken", DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Start_AtTheRunningLimit_Answers429_ButAKeyInUseStillAnswersItsPipeline()
    {
        var key = "limit-" + Guid.NewGuid();
        var existing = await engine.StartAsync(ApiEngineFixture.SpecJson("limit"), key);
        await engine.WaitForStatusAsync(existing, OrchestrationRuntimeStatus.Running);
        var running = 0;
        await foreach (var instance in engine.Client.GetAllInstancesAsync(new OrchestrationQuery { Statuses = ScheduledRetrainer.BlockingStatuses }).WithCancellation(Cancel))
            running += instance.Name == TaskNames.Pipeline ? 1 : 0;
        var api = new PipelineApi(engine.Client, engine.Storage, limits: new PipelineLimits { MaxRunningPipelines = running });
        var before = (PipelineList)(await engine.Api.ListAsync(null, Cancel)).Body;

        var refused = await api.StartAsync(ApiEngineFixture.SpecJson("limit"), idempotencyKey: null, ApiEngineFixture.PipelinesUri, Cancel);
        var again = await api.StartAsync(ApiEngineFixture.SpecJson("limit"), key, ApiEngineFixture.PipelinesUri, Cancel);
        var roomier = new PipelineApi(engine.Client, engine.Storage, limits: new PipelineLimits { MaxRunningPipelines = running + 1 });
        var accepted = await roomier.StartAsync(ApiEngineFixture.SpecJson("limit"), idempotencyKey: null, ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(429, refused.StatusCode);
        Assert.Contains(nameof(PipelineLimits.MaxRunningPipelines), ((ApiProblem)refused.Body).Detail, StringComparison.Ordinal);
        Assert.Equal(202, again.StatusCode);
        Assert.Equal((existing, false), (((PipelineAccepted)again.Body).Id, ((PipelineAccepted)again.Body).Created));
        Assert.Equal(202, accepted.StatusCode);
        var after = (PipelineList)(await engine.Api.ListAsync(null, Cancel)).Body;
        Assert.Equal(before.Pipelines.Count + 1, after.Pipelines.Count);
    }

    [Fact]
    public async Task GetReport_UnknownId_Answers404()
    {
        var result = await engine.Api.GetReportAsync("no-such-pipeline", TestContext.Current.CancellationToken);

        Assert.Equal((404, "application/problem+json"), (result.StatusCode, result.ContentType));
    }

    [Fact]
    public async Task Cancel_RunningPipeline_TerminatesIt_WritesTheMarker_AndAWorkerDropsItsQueuedJob()
    {
        var id = await engine.StartAsync(ApiEngineFixture.SpecJson("cancelrun"));
        await engine.WaitForQueuedJobAsync(id);

        var result = await engine.Api.CancelAsync(id, """{ "reason": "wrong learning rates" }""", ApiEngineFixture.PipelinesUri, Cancel);

        Assert.Equal(202, result.StatusCode);
        var cancelling = (PipelineCancelling)result.Body;
        Assert.Equal($"{id}/cancelled.json", cancelling.Marker);
        Assert.Equal("wrong learning rates", cancelling.Reason);
        await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Terminated);
        var canceller = new PipelineCanceller(engine.Client, engine.Storage);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await canceller.RunningChildrenAsync(id, Cancel)) is { Count: > 0 } children)
        {
            Assert.True(DateTime.UtcNow < deadline, $"sub-orchestrations still running 30 s after the cancel: {string.Join(", ", children)}");
            await Task.Delay(200, Cancel);
        }

        var marker = await canceller.ReadAsync(id, Cancel);
        Assert.NotNull(marker);
        Assert.Equal("wrong learning rates", marker.Reason);
        Assert.Null(CheckpointLayout.Parse(CancellationMarker.BlobName(id)));

        // A worker takes the cancelled pipeline's job that is still in the queue: it deletes it and writes nothing.
        using var worker = BuildWorker(engine.Configuration);
        var service = worker.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single();
        var messages = (await engine.Storage.Jobs.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), Cancel)).Value;
        var job = Assert.Single(messages, m => m.Body.ToString().Contains(id, StringComparison.Ordinal));
        await service.HandleAsync(job, Cancel);

        var left = (await engine.Storage.Jobs.PeekMessagesAsync(32, Cancel)).Value;
        Assert.DoesNotContain(left, m => m.Body.ToString().Contains(id, StringComparison.Ordinal));
        var written = new List<string>();
        await foreach (var blob in engine.Storage.Checkpoints.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, id + "/", Cancel))
            written.Add(blob.Name);
        Assert.Equal([CancellationMarker.BlobName(id)], written);

        var again = await engine.Api.CancelAsync(id, null, ApiEngineFixture.PipelinesUri, Cancel);
        Assert.Equal(409, again.StatusCode);
        Assert.Contains("Terminated", ((ApiProblem)again.Body).Detail, StringComparison.Ordinal);
    }

    private async Task<List<OrchestrationMetadata>> InstancesWithPrefixAsync(string id)
    {
        var found = new List<OrchestrationMetadata>();
        await foreach (var instance in engine.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = id }))
            found.Add(instance);
        return found;
    }

    private static IHost BuildWorker(IConfiguration configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        builder.Services.AddSoupJobs(builder.Configuration);
        return builder.Build();
    }
}
