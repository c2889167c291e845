using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Training.FineTuning;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The worker executable on Azurite never dies on a message: messages that are not jobs go to the poison queue with
/// the reason, a lost lease is survived, a storage outage mid-job is ridden out, preemptions do not count as failed
/// deliveries, and a second copy of a running job is not trained twice. Each test ends with a job that completes.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WorkerFaultTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Worker_MessagesThatAreNotJobs_GoToThePoisonQueueWithTheReasonAndTheNextJobCompletes()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var raw = new QueueClient(configuration[PipelineOptions.ConnectionName], storage.Jobs.Name); // no base64: another producer
        await raw.SendMessageAsync("this is not base64 {", Cancel);
        await storage.Jobs.SendMessageAsync("""{"pipelineId":"p1","slot":"init","model":"cnn-small"}""", Cancel);
        await storage.Jobs.SendMessageAsync("not json at all", Cancel);
        await storage.SendJobAsync(TinyJob("escape") with { Slot = "round-01/../../elsewhere" }, Cancel);
        var good = TinyJob("good");
        await storage.SendJobAsync(good, Cancel);

        using var worker = ProductProcess.Start(configuration);
        await WaitUntilAsync(async () => (await Blob(storage, good, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, worker);

        Assert.False(worker.HasExited, "the worker stopped on a bad message");
        var poisoned = (await storage.JobsPoison.ReceiveMessagesAsync(32, cancellationToken: Cancel)).Value
            .Select(m => JsonSerializer.Deserialize(m.Body.ToMemory().Span, SoupJson.Default.PoisonMessage)!)
            .ToList();
        Assert.Equal(4, poisoned.Count);
        Assert.Contains(poisoned, p => p.Body == "this is not base64 {" && p.Reason.Contains("not base64", StringComparison.Ordinal));
        Assert.Contains(poisoned, p => p.Body.Contains("\"p1\"", StringComparison.Ordinal) && p.Reason.Contains("not a job", StringComparison.Ordinal));
        Assert.Contains(poisoned, p => p.Body == "not json at all" && p.Reason.Contains("not a job", StringComparison.Ordinal));
        Assert.Contains(poisoned, p => p.Body.Contains("elsewhere", StringComparison.Ordinal) && p.Reason.Contains("name no job folder", StringComparison.Ordinal));
        Assert.Empty((await storage.Jobs.PeekMessagesAsync(cancellationToken: Cancel)).Value);
        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Worker_LeaseLostMidJob_FinishesTheJobAndServesTheNext()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var job = LongJob("lease", steps: 1500);
        await storage.SendJobAsync(job, Cancel);

        using var worker = ProductProcess.Start(configuration, new Dictionary<string, string> { ["JobVisibilityTimeout"] = "00:00:04" });
        await WaitUntilAsync(async () => await ProgressStepAsync(storage, job) > 0, worker);
        await storage.Jobs.ClearMessagesAsync(Cancel); // the job's message is gone: the next renewal gets 404
        var next = TinyJob("after-lease");
        await storage.SendJobAsync(next, Cancel);

        await WaitUntilAsync(async () => (await Blob(storage, next, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, worker);
        Assert.True((await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync(Cancel)).Value);
        Assert.False(worker.HasExited, "the worker stopped after losing a lease");
        Assert.Contains("the lease is lost", worker.Log, StringComparison.Ordinal);
        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Worker_StorageDownFifteenSecondsMidJob_TheJobStillCompletes()
    {
        using var azurite = await PrivateAzurite.StartAsync();
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(fixture.NewConfiguration(workers: 0))
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = azurite.ConnectionString })
            .Build();
        var storage = await StorageAsync(configuration);
        var job = LongJob("outage", steps: 1500) with { Settings = LongJob("outage", steps: 1500).Settings with { CheckpointEvery = 100 } };
        await storage.SendJobAsync(job, Cancel);

        using var worker = ProductProcess.Start(configuration, new Dictionary<string, string> { ["JobVisibilityTimeout"] = "00:00:20", ["HeartbeatInterval"] = "00:00:02" });
        await WaitUntilAsync(async () => await ProgressStepAsync(storage, job) > 0, worker);
        await azurite.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(15), Cancel);
        Assert.False(worker.HasExited, "the worker stopped while storage was down");
        await azurite.RestartAsync();

        await WaitUntilAsync(async () => (await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, worker);
        var content = (await Blob(storage, job, CheckpointLayout.CheckpointFile).DownloadContentAsync(Cancel)).Value.Content;
        Assert.Equal("1500", Safetensors.Read(content.ToMemory(), job.JobId).Metadata["steps"]);
        Assert.False((await Blob(storage, job, CheckpointLayout.FailureFile).ExistsAsync(Cancel)).Value);

        // And it goes on serving.
        var next = TinyJob("after-outage");
        await storage.SendJobAsync(next, Cancel);
        await WaitUntilAsync(async () => (await Blob(storage, next, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, worker);
        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Worker_PreemptedTenTimes_FinishesFromItsResumptionCheckpoint()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        // Slow steps, and far more than ten preemptions' worth (at 2.5 s each, 760 of 800 steps were once done by the
        // tenth, and it found the job finished): each preemption lands mid-job.
        const int Steps = 1200;
        var job = LongJob("preempted", steps: Steps);
        job = job with { Settings = job.Settings with { BatchSize = 256 } };
        await storage.SendJobAsync(job, Cancel);
        var settings = new Dictionary<string, string> { ["MaxDeliveries"] = "3", ["JobVisibilityTimeout"] = "00:00:05" };

        var saved = 0;
        for (var preemption = 1; preemption <= 10; preemption++)
        {
            using var worker = ProductProcess.Start(configuration, settings);
            await WaitUntilAsync(() => Task.FromResult(worker.Log.Contains($"Job {job.JobId} starting", StringComparison.Ordinal)), worker);
            await Task.Delay(TimeSpan.FromSeconds(1.5), Cancel); // a few steps in
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            var before = saved;
            saved = await ResumeStepAsync(storage, job);
            Assert.True(saved >= before, $"preemption {preemption}: saved step {saved}, before {before}");

            // Handed back as a fresh message that counts no failed delivery.
            var waiting = Assert.Single((await storage.Jobs.PeekMessagesAsync(cancellationToken: Cancel)).Value);
            Assert.Equal(0, waiting.DequeueCount);
            Assert.Equal(0, JsonSerializer.Deserialize(waiting.Body.ToMemory().Span, SoupJson.Default.Job)!.PriorDeliveries);
            Assert.Equal(JobStates.Released, (await storage.ReadJsonAsync(Blob(storage, job, CheckpointLayout.ProgressFile).Name, SoupJson.Default.JobProgress, Cancel)).State);
        }

        Assert.InRange(saved, 1, Steps - 1);
        using (var last = ProductProcess.Start(configuration, settings))
        {
            await WaitUntilAsync(async () => (await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, last);
            last.Terminate();
            await last.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.False((await Blob(storage, job, CheckpointLayout.FailureFile).ExistsAsync(Cancel)).Value);
        var content = (await Blob(storage, job, CheckpointLayout.CheckpointFile).DownloadContentAsync(Cancel)).Value.Content;
        Assert.Equal(saved.ToString(System.Globalization.CultureInfo.InvariantCulture), Safetensors.Read(content.ToMemory(), job.JobId).Metadata["resumed_from_step"]);
    }

    [Fact]
    public async Task Worker_SecondCopyOfARunningJob_IsDroppedWithoutTrainingTwice()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var first = TestWorkerHost.Build(configuration);
        var storage = first.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(Cancel);
        var job = LongJob("duplicate", steps: 1500);
        await storage.SendJobAsync(job, Cancel);
        await first.StartAsync(Cancel);
        await WaitUntilAsync(async () => await ProgressStepAsync(storage, job) > 0, null);
        var running = await storage.ReadJsonAsync(Blob(storage, job, CheckpointLayout.ProgressFile).Name, SoupJson.Default.JobProgress, Cancel);

        // The orchestration sends the job again (a re-dispatch); another worker receives the copy.
        await storage.SendJobAsync(job, Cancel);
        using var second = TestWorkerHost.Build(configuration);
        var copy = (await storage.Jobs.ReceiveMessageAsync(TimeSpan.FromMinutes(1), Cancel)).Value;
        Assert.NotEqual(running.MessageId, copy.MessageId);
        await second.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single().HandleAsync(copy, Cancel);

        var after = await storage.ReadJsonAsync(Blob(storage, job, CheckpointLayout.ProgressFile).Name, SoupJson.Default.JobProgress, Cancel);
        Assert.Equal(running.MessageId, after.MessageId); // only the first copy writes the job's heartbeat
        Assert.Empty((await storage.Jobs.PeekMessagesAsync(cancellationToken: Cancel)).Value); // the copy is gone
        Assert.False((await Blob(storage, job, CheckpointLayout.FailureFile).ExistsAsync(Cancel)).Value);

        await WaitUntilAsync(async () => (await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, null);
        await first.StopAsync(Cancel);
        var output = (await Blob(storage, job, CheckpointLayout.CheckpointFile).DownloadContentAsync(Cancel)).Value.Content;
        Assert.Equal("0", Safetensors.Read(output.ToMemory(), job.JobId).Metadata["resumed_from_step"]);
    }

    [Fact]
    public async Task Worker_TwoCopiesReceivedAtOnce_ExactlyOneTrains()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var a = TestWorkerHost.Build(configuration);
        using var b = TestWorkerHost.Build(configuration);
        var storage = a.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(Cancel);
        var job = LongJob("race", steps: 1_000_000);
        await storage.SendJobAsync(job, Cancel);
        await storage.SendJobAsync(job, Cancel); // a re-dispatch that raced the first delivery
        var messages = (await storage.Jobs.ReceiveMessagesAsync(2, TimeSpan.FromMinutes(1), Cancel)).Value;
        Assert.Equal(2, messages.Length);

        using var shutdown = new CancellationTokenSource();
        var handling = new[]
        {
            a.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single().HandleAsync(messages[0], shutdown.Token),
            b.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single().HandleAsync(messages[1], shutdown.Token),
        };
        var dropped = await Task.WhenAny(handling);
        await dropped; // the copy that lost the claim returns at once; the other trains on
        await Task.Delay(TimeSpan.FromSeconds(2), Cancel);
        var training = handling.Single(h => h != dropped);
        Assert.False(training.IsCompleted, "both copies ended: neither trained");
        var winner = messages[Array.IndexOf(handling, training)].MessageId;
        var progress = await storage.ReadJsonAsync(Blob(storage, job, CheckpointLayout.ProgressFile).Name, SoupJson.Default.JobProgress, Cancel);
        Assert.Equal(winner, progress.MessageId);

        await shutdown.CancelAsync(); // the trainer is preempted and re-queues its job
        await training;
        var waiting = Assert.Single((await storage.Jobs.PeekMessagesAsync(32, Cancel)).Value);
        Assert.Equal(job.JobId, JsonSerializer.Deserialize(waiting.Body.ToMemory().Span, SoupJson.Default.Job)!.JobId);
    }

    [Fact]
    public async Task Worker_JobTooLargeForAMessage_TravelsByBlobAndCompletes_AndAMissingJobBlobIsPoison()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var source = TinyJob("big-source");
        await storage.SendJobAsync(source, Cancel);
        using var worker = ProductProcess.Start(configuration);
        await WaitUntilAsync(async () => (await Blob(storage, source, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, worker);

        // An evaluation of 1,000 checkpoints (the same one, to keep it quick) is ~60 KB of JSON: over a message's 64 KB once
        // base64-encoded. It goes to its slot's job.json and the message is a reference that keeps the delivery count.
        var checkpoint = CheckpointLayout.Blob(source.PipelineId, source.Slot, CheckpointLayout.CheckpointFile);
        var big = new EvaluateJob
        {
            PipelineId = source.PipelineId,
            Slot = CheckpointLayout.EvaluationSlot(1),
            Model = "cnn-small",
            Checkpoints = Enumerable.Repeat(checkpoint, 1000).ToList(),
            Splits = [new EvaluationSplit("holdout", source.Data with { Part = DataParts.Out })],
            PriorDeliveries = 2,
        };
        Assert.True(JsonSerializer.SerializeToUtf8Bytes<Job>(big, SoupJson.Default.Job).Length > SoupStorage.MaxInlineJobBytes);
        await storage.SendJobAsync(big, Cancel);
        var results = Blob(storage, big, CheckpointLayout.EvaluationFile);
        await WaitUntilAsync(async () => (await results.ExistsAsync()).Value, worker);

        var report = (await storage.ReadJsonAsync(results.Name, SoupJson.Default.EvaluationReport, Cancel));
        Assert.Equal(1000, report.Scores.Count);
        var stored = JsonSerializer.Deserialize((await Blob(storage, big, CheckpointLayout.JobFile).DownloadContentAsync(Cancel)).Value.Content.ToMemory().Span, SoupJson.Default.Job);
        Assert.Equal(1000, Assert.IsType<EvaluateJob>(stored).Checkpoints.Count);

        // A reference whose blob is gone cannot be run: poison, with the reason, and the worker goes on.
        var orphan = new JobReference
        {
            PipelineId = source.PipelineId, Slot = CheckpointLayout.EvaluationSlot(2), Model = "cnn-small",
            JobBlob = CheckpointLayout.Blob(source.PipelineId, CheckpointLayout.EvaluationSlot(2), CheckpointLayout.JobFile),
        };
        await storage.Jobs.SendMessageAsync(JsonSerializer.Serialize<Job>(orphan, SoupJson.Default.Job), Cancel);
        var next = TinyJob("after-orphan");
        await storage.SendJobAsync(next, Cancel);
        await WaitUntilAsync(async () => (await Blob(storage, next, CheckpointLayout.CheckpointFile).ExistsAsync()).Value, worker);
        var poisoned = Assert.Single((await storage.JobsPoison.ReceiveMessagesAsync(32, cancellationToken: Cancel)).Value);
        var poison = JsonSerializer.Deserialize(poisoned.Body.ToMemory().Span, SoupJson.Default.PoisonMessage)!;
        Assert.Contains("does not exist", poison.Reason, StringComparison.Ordinal);
        Assert.Contains(orphan.JobBlob, poison.Reason, StringComparison.Ordinal);
        Assert.False((await Blob(storage, orphan, CheckpointLayout.EvaluationFile).ExistsAsync(Cancel)).Value);
        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task SendJob_LargeJob_SendsAReferenceThatKeepsItsPriorDeliveries()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var job = new EvaluateJob
        {
            PipelineId = "ref-" + Guid.NewGuid().ToString("N")[..8], Slot = CheckpointLayout.EvaluationSlot(1), Model = "cnn-small",
            Checkpoints = Enumerable.Range(0, 1500).Select(i => $"p/round-01/member-{i:D3}/model.safetensors").ToList(),
            Splits = [new EvaluationSplit("holdout", new DataRef { Dataset = "tiny", Part = DataParts.Out })],
            PriorDeliveries = 3,
        };

        await storage.SendJobAsync(job, Cancel);

        var message = Assert.Single((await storage.Jobs.PeekMessagesAsync(cancellationToken: Cancel)).Value);
        Assert.True(message.Body.ToMemory().Length < 64 * 1024);
        var reference = Assert.IsType<JobReference>(JsonSerializer.Deserialize(message.Body.ToMemory().Span, SoupJson.Default.Job));
        Assert.Equal(3, reference.PriorDeliveries);
        Assert.Equal(job.JobId, reference.JobId);
        var (resolved, problem) = await storage.ResolveJobAsync(reference, Cancel);
        Assert.Equal("", problem);
        Assert.Equal(1500, Assert.IsType<EvaluateJob>(resolved).Checkpoints.Count);
    }

    private static TrainJob TinyJob(string name) => new()
    {
        PipelineId = name + "-" + Guid.NewGuid().ToString("N")[..8],
        Slot = CheckpointLayout.MemberSlot(1, 0),
        Model = "cnn-small",
        Data = new DataRef { Dataset = "tiny", Part = DataParts.In, HoldoutFraction = 0.2, SplitSeed = 1 },
        Settings = new TrainSettings { Steps = 5, BatchSize = 16, LearningRate = 0.05, Seed = 3 },
    };

    private static TrainJob LongJob(string name, int steps) => TinyJob(name) with
    {
        Settings = new TrainSettings { Steps = steps, BatchSize = 64, LearningRate = 0.01, Seed = 11, CheckpointEvery = 0 },
    };

    private static async Task<SoupStorage> StorageAsync(IConfiguration configuration)
    {
        using var host = TestWorkerHost.Build(configuration);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(Cancel);
        return storage;
    }

    private static Azure.Storage.Blobs.BlobClient Blob(SoupStorage storage, Job job, string file) =>
        storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, file));

    private static async Task<int> ProgressStepAsync(SoupStorage storage, Job job)
    {
        try
        {
            return (await storage.ReadJsonAsync(Blob(storage, job, CheckpointLayout.ProgressFile).Name, SoupJson.Default.JobProgress)).Step;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }
    }

    private static async Task<int> ResumeStepAsync(SoupStorage storage, Job job)
    {
        var blob = Blob(storage, job, CheckpointLayout.ResumeFile);
        if (!await blob.ExistsAsync())
            return 0;
        var content = (await blob.DownloadContentAsync()).Value.Content;
        return Soup.Training.FineTuning.TrainingState.FromSafetensors(content.ToMemory(), blob.Name).Step;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, ProductProcess? worker)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or HttpRequestException)
            {
                // Storage is down in the outage test: look again.
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out; the worker's log:\n{worker?.Log}");
            await Task.Delay(200);
        }
    }
}
