using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Training.Checkpoints;
using Soup.Training.Models;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// Jobs that can never succeed fail at their first delivery, with the reason written at the job's landing path
/// (failed.json) and the message deleted: no retries, no checkpoint.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WorkerBadInputTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public Task Job_MissingDataset_FailsAtOnceNamingThePath() =>
        AssertFailsAtOnceAsync(Job() with { Data = TinyData() with { Dataset = "no-such-dataset" } }, "no-such-dataset", "does not exist");

    [Fact]
    public Task Job_UnknownModel_FailsAtOnceListingKnownModels() =>
        AssertFailsAtOnceAsync(Job() with { Model = "resnet-9000" }, "resnet-9000", "cnn-small");

    [Fact]
    public Task Job_UnknownOptimizer_FailsAtOnceListingKnownOptimizers() =>
        AssertFailsAtOnceAsync(Job() with { Settings = Job().Settings with { Optimizer = "rmsprop" } }, "rmsprop", "adamw");

    [Fact]
    public Task Job_EmptyTrainingDomainList_FailsAtOnce() =>
        AssertFailsAtOnceAsync(Job() with { Data = TinyData() with { Layout = DataLayouts.Rotated, Domains = [] } }, "domain");

    [Fact]
    public Task Job_BatchLargerThanTheData_FailsAtOnceWithBothSizes() =>
        AssertFailsAtOnceAsync(Job() with { Settings = Job().Settings with { BatchSize = 1000 } }, "1000", "480");

    [Fact]
    public async Task Job_BaseCheckpointOfTheWrongShape_FailsAtOnceNamingTensorAndShapes()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var host = Worker(configuration);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        using var model = Soup.Training.Models.ModelFactory.Create("cnn-small", Soup.Training.Models.ModelShape.Mnist with { Classes = 7 });
        using (var stream = new MemoryStream())
        {
            Safetensors.Write(stream, Soup.Training.Checkpoints.TorchCheckpoint.ToTensorData(model), new Dictionary<string, string>());
            stream.Position = 0;
            await storage.Checkpoints.GetBlobClient("bases/seven-classes.safetensors").UploadAsync(stream, TestContext.Current.CancellationToken);
        }

        await AssertFailsAtOnceAsync(
            Job() with { InitCheckpoint = "bases/seven-classes.safetensors" }, configuration, host, "fc.weight", "[7, 800]", "[10, 800]");
    }

    private async Task AssertFailsAtOnceAsync(TrainJob job, params string[] reasonContains)
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var host = Worker(configuration);
        await AssertFailsAtOnceAsync(job, configuration, host, reasonContains);
    }

    private static async Task AssertFailsAtOnceAsync(TrainJob job, IConfiguration configuration, IHost host, params string[] reasonContains)
    {
        _ = configuration;
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        await storage.SendJobAsync(job, TestContext.Current.CancellationToken);
        var message = (await storage.Jobs.ReceiveMessageAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken)).Value;
        Assert.Equal(1, message.DequeueCount);

        var service = host.Services.GetServices<IHostedService>().OfType<QueueJobService>().Single();
        await service.HandleAsync(message, TestContext.Current.CancellationToken);

        var record = await storage.ReadJsonAsync(
            CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile), SoupJson.Default.FailureRecord, TestContext.Current.CancellationToken);
        foreach (var part in reasonContains)
            Assert.Contains(part, record.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.False(await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).ExistsAsync(TestContext.Current.CancellationToken));
        Assert.Empty((await storage.Jobs.PeekMessagesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value);
    }

    private static DataRef TinyData() => new() { Dataset = "tiny", Part = DataParts.In, HoldoutFraction = 0.2, SplitSeed = 1 };

    private static TrainJob Job() => new()
    {
        PipelineId = "bad-" + Guid.NewGuid().ToString("N")[..8],
        Slot = CheckpointLayout.MemberSlot(1, 0),
        Model = "cnn-small",
        Data = TinyData(),
        Settings = new TrainSettings { Steps = 5, BatchSize = 16, LearningRate = 0.05, Seed = 3 },
    };

    private static IHost Worker(IConfiguration configuration) => TestWorkerHost.Build(configuration);
}
