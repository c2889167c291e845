using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Training.Checkpoints;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The worker's job handling on Azurite with real training: a crashed worker's job is retried, a finished job
/// redelivered writes nothing new, and a job that keeps failing to finish is recorded as failed.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class JobHandlingTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Worker_JobOfACrashedWorker_IsRetriedAndCompleted()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var host = BuildWorker(configuration, maxDeliveries: 5);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var job = TinyTrainJob("crash");
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);

        // A worker takes the job and dies: it never deletes the message, which reappears after its lease.
        var taken = await storage.Jobs.ReceiveMessageAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        Assert.NotNull(taken.Value);

        await host.StartAsync(TestContext.Current.CancellationToken);
        var output = storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job));
        await WaitUntilAsync(async () => (await output.ExistsAsync()).Value);
        await host.StopAsync(TestContext.Current.CancellationToken);

        var left = await storage.Jobs.PeekMessagesAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Empty(left.Value);
    }

    [Fact]
    public async Task Runner_TrainJob_RecordsProvenanceAndMetricsInTheCheckpointAndReportsProgress()
    {
        using var host = BuildWorker(fixture.NewConfiguration(workers: 0), maxDeliveries: 5);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        using var model = Soup.Training.Models.ModelFactory.Create("cnn-small");
        byte[] initBytes;
        using (var stream = new MemoryStream())
        {
            Soup.Merging.Checkpoints.Safetensors.Write(stream, Soup.Training.Checkpoints.TorchCheckpoint.ToTensorData(model), new Dictionary<string, string>());
            initBytes = stream.ToArray();
        }
        await storage.Checkpoints.GetBlobClient("bases/init.safetensors").UploadAsync(BinaryData.FromBytes(initBytes), TestContext.Current.CancellationToken);
        var job = TinyTrainJob("meta") with { InitCheckpoint = "bases/init.safetensors", SpecHash = "0123abcd" };

        await host.Services.GetRequiredService<JobRunner>().RunAsync(job, TestContext.Current.CancellationToken);

        var content = (await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content;
        var metadata = Soup.Merging.Checkpoints.Safetensors.Read(content.ToMemory(), "output").Metadata;
        Assert.Equal(job.JobId, metadata["job_id"]);
        Assert.Equal("0123abcd", metadata["spec_hash"]);
        Assert.Equal("bases/init.safetensors", metadata["base_checkpoint"]);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(initBytes)), metadata["base_checkpoint_sha256"]);
        Assert.Equal(("sgd", "0.05", "16", "5", "3", "0"), (metadata["optimizer"], metadata["learning_rate"], metadata["batch_size"], metadata["steps"], metadata["seed"], metadata["resumed_from_step"]));
        Assert.InRange(double.Parse(metadata["final_train_loss"], System.Globalization.CultureInfo.InvariantCulture), 0.01, 10);
        Assert.InRange(double.Parse(metadata["final_train_accuracy"], System.Globalization.CultureInfo.InvariantCulture), 0, 1);

        var progress = await storage.ReadJsonAsync(
            CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ProgressFile), SoupJson.Default.JobProgress, TestContext.Current.CancellationToken);
        Assert.Equal((job.JobId, 5, 5), (progress.JobId, progress.Step, progress.TotalSteps));
        Assert.False(await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ResumeFile)).ExistsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Runner_ABlobDatasetPinnedByAScheduledRun_TrainsOnThatVersion_AndFailsNamingAChange()
    {
        using var host = BuildWorker(fixture.NewConfiguration(workers: 0), maxDeliveries: 5);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var datasets = storage.Blobs.GetBlobContainerClient("datasets");
        await datasets.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var prefix = "pin-" + Guid.NewGuid().ToString("N")[..8];
        var local = Directory.CreateTempSubdirectory("soup-pin-");
        Soup.Training.Data.TinyIdxDataset.Write(local.FullName, trainCount: 60, testCount: 20, seed: 4);
        foreach (var file in Directory.GetFiles(local.FullName))
            await datasets.GetBlobClient($"{prefix}/{Path.GetFileName(file)}").UploadAsync(file, TestContext.Current.CancellationToken);
        var dataset = $"blob:datasets/{prefix}";

        // What a scheduled run records and pins (DatasetVersion, from the Functions side) ...
        var (_, versions) = await Soup.Orchestration.DatasetVersion.ReadAsync(
            storage.Blobs, new Soup.Core.Specs.PipelineSpec { Name = "pin", Data = new Soup.Core.Specs.DataSpec { Dataset = dataset } }, TestContext.Current.CancellationToken);
        var recorded = versions[dataset];
        var job = TinyTrainJob("pin") with { Data = TinyTrainJob("pin").Data with { Dataset = dataset, Version = recorded } };

        // ... is the version the worker trains on, and records in the checkpoint.
        await host.Services.GetRequiredService<JobRunner>().RunAsync(job, TestContext.Current.CancellationToken);
        var content = (await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content;
        Assert.Equal(recorded, Soup.Merging.Checkpoints.Safetensors.Read(content.ToMemory(), "output").Metadata["dataset_version"]);

        // The data changes under the run: its next job fails, naming both versions, and trains nothing.
        await datasets.GetBlobClient($"{prefix}/train-labels-idx1-ubyte").UploadAsync(BinaryData.FromString("changed"), overwrite: true, TestContext.Current.CancellationToken);
        var later = job with { PipelineId = job.PipelineId + "-b" };
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => host.Services.GetRequiredService<JobRunner>().RunAsync(later, TestContext.Current.CancellationToken));
        Assert.Contains($"changed since the run recorded it (recorded {recorded}, now sha256:", failure.Message, StringComparison.Ordinal);
        Assert.False((await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(later)).ExistsAsync(TestContext.Current.CancellationToken)).Value);
        local.Delete(recursive: true);
    }

    [Fact]
    public async Task Runner_FinishedJobRedelivered_WritesNothingNew()
    {
        using var host = BuildWorker(fixture.NewConfiguration(workers: 0), maxDeliveries: 5);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var runner = host.Services.GetRequiredService<JobRunner>();
        var job = TinyTrainJob("twice");

        await runner.RunAsync(job, TestContext.Current.CancellationToken);
        var blob = storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job));
        var first = (await blob.GetPropertiesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value;
        await runner.RunAsync(job, TestContext.Current.CancellationToken);
        var second = (await blob.GetPropertiesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value;

        Assert.Equal(first.ETag, second.ETag);
        Assert.Equal(first.LastModified, second.LastModified);
    }

    [Fact]
    public async Task Runner_EvaluationWithAGreedyPlan_WritesTheKeptSoupOnce_ScoresItOnEverySplit_AndRefusesABadPlan()
    {
        var ct = TestContext.Current.CancellationToken;
        using var host = BuildWorker(fixture.NewConfiguration(workers: 0), maxDeliveries: 5);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(ct);
        var runner = host.Services.GetRequiredService<JobRunner>();

        // Members: a trained model A, an exact copy of it, and an untrained model B.
        var trained = TinyTrainJob("greedy");
        await runner.RunAsync(trained, ct);
        var id = trained.PipelineId;
        string Member(int m) => CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile);
        var a = (await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(trained)).DownloadContentAsync(ct)).Value.Content;
        await storage.Checkpoints.GetBlobClient(Member(0)).UploadAsync(a, ct);
        await storage.Checkpoints.GetBlobClient(Member(1)).UploadAsync(a, ct);
        using (var untrained = Soup.Training.Models.ModelFactory.Create("cnn-small"))
        using (var stream = new MemoryStream())
        {
            Soup.Merging.Checkpoints.Safetensors.Write(stream, Soup.Training.Checkpoints.TorchCheckpoint.ToTensorData(untrained), new Dictionary<string, string>());
            await storage.Checkpoints.GetBlobClient(Member(2)).UploadAsync(BinaryData.FromBytes(stream.ToArray()), ct);
        }

        var job = new EvaluateJob
        {
            PipelineId = id, Slot = CheckpointLayout.EvaluationSlot(1), Model = "cnn-small",
            Checkpoints = [Member(0), Member(1), Member(2)],
            Splits = [new EvaluationSplit("validation", new DataRef { Dataset = "tiny", Part = DataParts.Out }), new EvaluationSplit("test", new DataRef { Dataset = "tiny", Part = DataParts.In })],
            Greedy = new GreedySoupPlan([0, 1, 2], "validation", new Soup.Merging.MergeParameters(), Metadata: new Dictionary<string, string> { ["pipeline"] = id }),
        };
        await runner.RunAsync(job, ct);

        var report = await storage.ReadJsonAsync(CheckpointLayout.OutputBlob(job), SoupJson.Default.EvaluationReport, ct);
        var greedy = Assert.IsType<GreedySoupOutcome>(report.Greedy);
        // A and its copy tie (the candidate is A itself): the copy is kept, and the soup is written next to the round's.
        Assert.Equal([Member(0), Member(1)], greedy.Members.Take(2));
        Assert.Equal((Member(1), true), (greedy.Trials[0].Added, greedy.Trials[0].Kept));
        Assert.Equal(CheckpointLayout.GreedySoupBlob(id, job.Slot), greedy.Checkpoint);
        var soupBlob = storage.Checkpoints.GetBlobClient(greedy.Checkpoint);
        var soup = await CheckpointAsserts.ReadAsync(storage.Checkpoints, greedy.Checkpoint);
        Assert.Equal(string.Join(",", greedy.Members), soup.Metadata["greedy_members"]);
        Assert.Equal(id, soup.Metadata["pipeline"]);
        CheckpointAsserts.AssertIsElementWiseMean([.. await Task.WhenAll(greedy.Members.Select(m => CheckpointAsserts.ReadAsync(storage.Checkpoints, m)))], soup);
        Assert.Equal(["validation", "test"], report.Scores.Where(s => s.Checkpoint == greedy.Checkpoint).Select(s => s.Split));
        if (greedy.Members.Count == 2)
            Assert.Equal(report.Scores.Where(s => s.Checkpoint == Member(0)).Select(s => s.Accuracy), report.Scores.Where(s => s.Checkpoint == greedy.Checkpoint).Select(s => s.Accuracy));

        // Delivered again after the soup was written but before the report: the soup is not written twice.
        var written = (await soupBlob.GetPropertiesAsync(cancellationToken: ct)).Value.ETag;
        await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).DeleteAsync(cancellationToken: ct);
        await runner.RunAsync(job, ct);
        Assert.Equal(written, (await soupBlob.GetPropertiesAsync(cancellationToken: ct)).Value.ETag);
        Assert.Equal(greedy, (await storage.ReadJsonAsync(CheckpointLayout.OutputBlob(job), SoupJson.Default.EvaluationReport, ct)).Greedy, new GreedyComparer());

        // A plan that cannot work fails the job at once, naming what is wrong.
        var outOfRange = await Assert.ThrowsAsync<JobFailedException>(() => runner.RunAsync(
            job with { Slot = CheckpointLayout.EvaluationSlot(2), Greedy = job.Greedy with { Members = [0, 3] } }, ct));
        Assert.Contains("greedy.members must be distinct indices into checkpoints (0 to 2)", outOfRange.Message, StringComparison.Ordinal);
        var noSplit = await Assert.ThrowsAsync<JobFailedException>(() => runner.RunAsync(
            job with { Slot = CheckpointLayout.EvaluationSlot(3), Greedy = job.Greedy with { Split = "holdout" } }, ct));
        Assert.Contains("greedy.split 'holdout' is not one of the job's splits (validation, test)", noSplit.Message, StringComparison.Ordinal);
    }

    /// <summary>Greedy outcomes equal by value (their lists compared item by item).</summary>
    private sealed class GreedyComparer : IEqualityComparer<GreedySoupOutcome?>
    {
        public bool Equals(GreedySoupOutcome? x, GreedySoupOutcome? y) =>
            x is not null && y is not null && x.Checkpoint == y.Checkpoint && x.Members.SequenceEqual(y.Members) && x.Trials.SequenceEqual(y.Trials);

        public int GetHashCode(GreedySoupOutcome? obj) => obj?.Checkpoint.GetHashCode(StringComparison.Ordinal) ?? 0;
    }

    [Fact]
    public async Task Service_JobDeliveredTooOften_IsRecordedAsFailedAndDropped()
    {
        using var host = BuildWorker(fixture.NewConfiguration(workers: 0), maxDeliveries: 1);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var job = TinyTrainJob("poison");
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);
        _ = await storage.Jobs.ReceiveMessageAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        await Task.Delay(1500, TestContext.Current.CancellationToken);
        var second = (await storage.Jobs.ReceiveMessageAsync(cancellationToken: TestContext.Current.CancellationToken)).Value;
        Assert.Equal(2, second.DequeueCount);

        var service = host.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single();
        await service.HandleAsync(second, TestContext.Current.CancellationToken);

        var record = await storage.ReadJsonAsync(
            CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile), SoupJson.Default.FailureRecord, TestContext.Current.CancellationToken);
        Assert.Contains("delivered 2 times", record.Reason, StringComparison.Ordinal);
        Assert.False(await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).ExistsAsync(TestContext.Current.CancellationToken));
        Assert.Empty((await storage.Jobs.PeekMessagesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value);
    }

    [Fact]
    public async Task Service_AJobStorageRefuses_IsRecordedAsFailedOnItsFirstDelivery_WithTheStatusAndNotTheRawResponse()
    {
        // A deployment whose DatasetContainers names a container storage cannot hold: listing it answers 400
        // InvalidResourceName, which no redelivery changes.
        using var host = TestWorkerHost.Build(fixture.NewConfiguration(workers: 0), new Dictionary<string, string?>
        {
            ["MaxDeliveries"] = "5",
            ["JobVisibilityTimeout"] = "00:00:10",
            ["DatasetContainers"] = "Bad_Name",
        });
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var job = TinyTrainJob("refused") with { Data = TinyTrainJob("refused").Data with { Dataset = "blob:Bad_Name/fmnist" } };
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);
        var first = (await storage.Jobs.ReceiveMessageAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken)).Value;
        Assert.Equal(1, first.DequeueCount);

        var service = host.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single();
        await service.HandleAsync(first, TestContext.Current.CancellationToken);

        var record = await storage.ReadJsonAsync(
            CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile), SoupJson.Default.FailureRecord, TestContext.Current.CancellationToken);
        Assert.Matches(@"^storage answered 400 InvalidResourceName; the job is not retried \(worker [^)]+, log reference [0-9a-f]{12}\)$", record.Reason);
        Assert.DoesNotContain("RequestId", record.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await storage.Jobs.PeekMessagesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value); // not redelivered
    }

    private static IHost BuildWorker(IConfiguration configuration, int maxDeliveries) => TestWorkerHost.Build(configuration, new Dictionary<string, string?>
    {
        ["MaxDeliveries"] = maxDeliveries.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["JobVisibilityTimeout"] = "00:00:10",
    });

    private static TrainJob TinyTrainJob(string pipeline) => new()
    {
        PipelineId = pipeline + "-" + Guid.NewGuid().ToString("N")[..8],
        Slot = CheckpointLayout.InitSlot,
        Model = "cnn-small",
        Data = new DataRef { Dataset = "tiny", Part = DataParts.In, HoldoutFraction = 0.2, SplitSeed = 1 },
        Settings = new TrainSettings { Steps = 5, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, Seed = 3 },
    };

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the job's output");
            await Task.Delay(250);
        }
    }
}
