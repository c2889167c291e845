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
/// The worker executable under real signals, on Azurite: SIGTERM (preemption) saves a resumption checkpoint, releases
/// the job and exits; a SIGKILL (crash) loses only the steps since the last periodic checkpoint. Either way the next
/// worker resumes the job and writes exactly the weights an uninterrupted run writes.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WorkerPreemptionTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private const int Steps = 400;

    /// <summary>A short lease, so a crashed worker's job reappears within seconds (it is renewed while the job runs).</summary>
    private static readonly Dictionary<string, string> ShortLease = new() { ["JobVisibilityTimeout"] = "00:00:05" };

    [Fact]
    public async Task Worker_Sigterm_SavesReleasesAndTheNextWorkerResumesToTheSameWeights()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var job = LongJob("sigterm", checkpointEvery: 0);
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);

        int savedStep;
        using (var worker = ProductProcess.Start(configuration, ShortLease))
        {
            await WaitUntilAsync(() => ProgressStepAsync(storage, job), step => step > 0, worker);
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));

            savedStep = await ResumeStepAsync(storage, job);
            Assert.InRange(savedStep, 1, Steps - 1);
            Assert.False(await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync(TestContext.Current.CancellationToken));
            var waiting = Assert.Single((await storage.Jobs.PeekMessagesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value);
            Assert.Equal(0, waiting.DequeueCount); // re-queued as a fresh message: the preemption is no failed delivery
        }

        var resumed = await RunToCompletionAsync(configuration, storage, job);
        Assert.Equal(savedStep.ToString(System.Globalization.CultureInfo.InvariantCulture), resumed.Metadata["resumed_from_step"]);
        AssertSameTensors(await UninterruptedAsync(configuration, storage), resumed);
    }

    [Fact]
    public async Task Worker_ResumeInterval_SpacesTheCheckpointsItChooses_YetSigtermStillSaves()
    {
        // A job that leaves its checkpoint interval to the worker (every 40 of its 400 steps) on a worker whose saves
        // must be an hour apart, as on a GPU where 40 steps take seconds and each save writes the optimizer's state.
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var job = LongJob("spaced", checkpointEvery: 0);
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);

        using var worker = ProductProcess.Start(configuration, new Dictionary<string, string>(ShortLease) { ["ResumeInterval"] = "01:00:00" });
        await WaitUntilAsync(() => ProgressStepAsync(storage, job), step => step >= 200, worker);
        Assert.False(
            await Blob(storage, job, CheckpointLayout.ResumeFile).ExistsAsync(TestContext.Current.CancellationToken),
            "a periodic save was made within the worker's resume interval");

        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.InRange(await ResumeStepAsync(storage, job), 200, Steps - 1); // the save on SIGTERM is never spaced out
    }

    [Fact]
    public async Task Worker_Crash_NextWorkerResumesFromThePeriodicCheckpointToTheSameWeights()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = await StorageAsync(configuration);
        var job = LongJob("crash", checkpointEvery: 100);
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);

        using (var worker = ProductProcess.Start(configuration, ShortLease))
        {
            await WaitUntilAsync(() => ResumeStepAsync(storage, job), step => step >= 100, worker);
            worker.Crash();
            await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.False(await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync(TestContext.Current.CancellationToken));
        var resumed = await RunToCompletionAsync(configuration, storage, job);
        var from = int.Parse(resumed.Metadata["resumed_from_step"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(from >= 100 && from % 100 == 0, $"resumed from step {from}, expected a periodic checkpoint");
        AssertSameTensors(await UninterruptedAsync(configuration, storage), resumed);
    }

    private static TrainJob LongJob(string name, int checkpointEvery) => new()
    {
        PipelineId = name + "-" + Guid.NewGuid().ToString("N")[..8],
        Slot = CheckpointLayout.MemberSlot(1, 0),
        Model = "cnn-small",
        Data = new DataRef { Dataset = "tiny", Part = DataParts.In, HoldoutFraction = 0.2, SplitSeed = 1 },
        Settings = new TrainSettings
        {
            Optimizer = Optimizers.AdamW, Steps = Steps, BatchSize = 128, LearningRate = 0.001, WeightDecay = 0.01, Dropout = 0.2,
            Seed = 11, Average = WeightAverages.MovingAverage, AverageStart = 50, CheckpointEvery = checkpointEvery,
        },
    };

    /// <summary>The same job under another pipeline id, run start to end in this process.</summary>
    private static async Task<SafetensorsContent> UninterruptedAsync(IConfiguration configuration, SoupStorage storage)
    {
        var job = LongJob("reference", checkpointEvery: 0);
        using var host = Worker(configuration);
        await host.Services.GetRequiredService<JobRunner>().RunAsync(job, TestContext.Current.CancellationToken);
        return await ReadCheckpointAsync(storage, job);
    }

    private static async Task<SafetensorsContent> RunToCompletionAsync(IConfiguration configuration, SoupStorage storage, TrainJob job)
    {
        using var worker = ProductProcess.Start(configuration, ShortLease);
        await WaitUntilAsync(async () => await Blob(storage, job, CheckpointLayout.CheckpointFile).ExistsAsync() ? 1 : 0, done => done == 1, worker);
        worker.Terminate();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.False(await Blob(storage, job, CheckpointLayout.ResumeFile).ExistsAsync(TestContext.Current.CancellationToken));
        return await ReadCheckpointAsync(storage, job);
    }

    private static void AssertSameTensors(SafetensorsContent expected, SafetensorsContent actual)
    {
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        foreach (var (e, a) in expected.Tensors.Zip(actual.Tensors))
            Assert.True(e.Data.Span.SequenceEqual(a.Data.Span), $"tensor '{e.Name}' differs from the uninterrupted run");
    }

    private static async Task<SafetensorsContent> ReadCheckpointAsync(SoupStorage storage, TrainJob job)
    {
        var content = (await Blob(storage, job, CheckpointLayout.CheckpointFile).DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content;
        return Safetensors.Read(content.ToMemory(), job.JobId);
    }

    private static async Task<int> ProgressStepAsync(SoupStorage storage, TrainJob job)
    {
        var blob = Blob(storage, job, CheckpointLayout.ProgressFile);
        if (!await blob.ExistsAsync())
            return 0;
        var progress = await storage.ReadJsonAsync(blob.Name, SoupJson.Default.JobProgress);
        return progress.Step;
    }

    private static async Task<int> ResumeStepAsync(SoupStorage storage, TrainJob job)
    {
        var blob = Blob(storage, job, CheckpointLayout.ResumeFile);
        if (!await blob.ExistsAsync())
            return 0;
        var content = (await blob.DownloadContentAsync()).Value.Content;
        return Soup.Training.FineTuning.TrainingState.FromSafetensors(content.ToMemory(), blob.Name).Step;
    }

    private static Azure.Storage.Blobs.BlobClient Blob(SoupStorage storage, TrainJob job, string file) =>
        storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, file));

    private static async Task<SoupStorage> StorageAsync(IConfiguration configuration)
    {
        using var host = Worker(configuration);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        return storage;
    }

    private static IHost Worker(IConfiguration configuration) => TestWorkerHost.Build(configuration);

    private static async Task WaitUntilAsync(Func<Task<int>> probe, Func<int, bool> done, ProductProcess worker)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (!done(await probe()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out; the worker's log:\n{worker.Log}");
            await Task.Delay(100);
        }
    }
}
