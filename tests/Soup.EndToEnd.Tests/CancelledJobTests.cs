using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Jobs;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// A real worker (queue service, TorchSharp training) and a pipeline cancelled while one of its jobs trains: the worker
/// notices the cancellation marker, stops training, deletes the message and writes neither output nor failure record.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class CancelledJobTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Worker_PipelineCancelledWhileItsJobTrains_DropsTheJobWithoutOutput()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(fixture.NewConfiguration(workers: 0));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["JobVisibilityTimeout"] = "00:00:10" });
        builder.Services.AddSoupJobs(builder.Configuration);
        using var worker = builder.Build();
        var storage = worker.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(Cancel);

        // Far more steps than the test waits for: only a drop ends it in time.
        var job = new TrainJob
        {
            PipelineId = "cancelled-" + Guid.NewGuid().ToString("N")[..8],
            Slot = CheckpointLayout.InitSlot,
            Model = "cnn-small",
            Data = new DataRef { Dataset = "tiny", Part = DataParts.In, HoldoutFraction = 0.2, SplitSeed = 1 },
            Settings = new TrainSettings { Steps = 1_000_000, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, Seed = 3 },
        };
        await storage.SendJobAsync(job, Cancel);
        await worker.StartAsync(Cancel);
        var training = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ResumeFile));
        await WaitUntilAsync(async () => (await training.ExistsAsync(Cancel)).Value, "the job to save its first resumption checkpoint");

        var marker = new CancellationMarker(job.PipelineId, "cancelled by the test", DateTimeOffset.UtcNow);
        await storage.TryCreateBlobAsync(CancellationMarker.BlobName(job.PipelineId), new MemoryStream(marker.ToJson()), Cancel);
        await WaitUntilAsync(
            async () => (await storage.Jobs.GetPropertiesAsync(Cancel)).Value.ApproximateMessagesCount == 0, "the job's message to be deleted");
        await worker.StopAsync(Cancel);

        Assert.False(await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).ExistsAsync(Cancel));
        Assert.False(await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile)).ExistsAsync(Cancel));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(250, Cancel);
        }
    }
}
