using Microsoft.Extensions.Configuration;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.DurableTask.Client;
using Soup.Merging.Checkpoints;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Local;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The whole path on real parts: the Durable Task engine on the Azure Storage provider against Azurite, the real
/// orchestration and activities, real TorchSharp workers taking jobs from the queue, and fan-in by blobs landing.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PipelineEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Run_TwoRoundsOfThreeMembers_CompletesWithSoupEqualToMemberMean()
    {
        var spec = TinySpec() with { Rounds = 2 };
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 1));
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: TestContext.Current.CancellationToken);

        var view = await WaitAsync(engine, id);

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var result = view.Result!;
        Assert.Equal(2, result.Rounds.Count);
        Assert.All(result.Rounds, r => Assert.Equal(3, r.Members.Count));
        Assert.Equal(result.Rounds[0].Soup, result.Rounds[1].Init);
        Assert.Equal(result.Rounds[1].Soup, result.FinalCheckpoint);
        Assert.All(result.Rounds.SelectMany(r => r.Members), m => Assert.InRange(m.Accuracy, 0.3, 1.0));

        var container = engine.Services.GetRequiredService<SoupStorage>().Checkpoints;
        foreach (var round in result.Rounds)
        {
            var members = await Task.WhenAll(round.Members.Select(m => CheckpointAsserts.ReadAsync(container, m.Checkpoint)));
            var soup = await CheckpointAsserts.ReadAsync(container, round.Soup);
            CheckpointAsserts.AssertIsElementWiseMean(members, soup);
            Assert.Equal(round.Round.ToString(System.Globalization.CultureInfo.InvariantCulture), soup.Metadata["round"]);
            Assert.All(members, m => Assert.Equal(round.Init, m.Metadata["base_checkpoint"]));
        }

        Assert.True(await container.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.EvaluationSlot(2), CheckpointLayout.EvaluationFile)).ExistsAsync(TestContext.Current.CancellationToken));

        // History keeps the rounds' summaries; the full results are the stored summary.json of each round.
        var raw = (await engine.Client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken))!.ReadOutputAs<PipelineResult>()!;
        Assert.All(raw.Rounds, r => Assert.Empty(r.Members));
        Assert.Equal([RoundResults.BlobName(id, 1), RoundResults.BlobName(id, 2)], raw.Rounds.Select(r => r.Details));
        Assert.Equal(result.Rounds.Select(r => r.SoupAccuracy), raw.Rounds.Select(r => r.SoupAccuracy));
        Assert.All(result.Rounds, r => Assert.Null(r.Details));
    }

    [Fact]
    public async Task Run_MissingDataset_FailsWithReasonInsteadOfWaiting()
    {
        var spec = TinySpec() with { Data = TinySpec().Data with { Dataset = "no-such-dataset" } };
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 1));
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: TestContext.Current.CancellationToken);

        var view = await WaitAsync(engine, id);

        Assert.Equal("Failed", view.RuntimeStatus);
        Assert.Contains("no-such-dataset", view.Failure);
        Assert.Contains("init", view.Failure);
        Assert.Equal("failed", view.Progress!.Phase);
    }

    [Fact]
    public async Task Run_MissingBaseCheckpoint_FailsNamingTheCheckpoint()
    {
        var spec = TinySpec() with { Init = new InitSpec { Checkpoint = "bases/missing.safetensors" } };
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 1));
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: TestContext.Current.CancellationToken);

        var view = await WaitAsync(engine, id);

        Assert.Equal("Failed", view.RuntimeStatus);
        Assert.Contains("bases/missing.safetensors", view.Failure);
        Assert.Contains("does not exist", view.Failure);
    }

    [Fact]
    public async Task Run_WithoutWorkers_BlobsLandingAtAgreedPathsCompleteTheRound()
    {
        // No worker in the process: this test writes the members' checkpoints itself, telling nobody. The watcher's
        // full listing of the container runs only at start (its period is an hour): only its listing of the folders
        // of outstanding jobs (the members', then the evaluation's) can find the landings.
        var spec = TinySpec() with { Init = new InitSpec { Checkpoint = "bases/init.safetensors" } };
        var configuration = new ConfigurationBuilder().AddConfiguration(fixture.NewConfiguration(workers: 0))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["LandingFullScanInterval"] = "01:00:00" }).Build();
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var container = engine.Services.GetRequiredService<SoupStorage>().Checkpoints;
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: TestContext.Current.CancellationToken);

        var random = new Random(5);
        var members = Enumerable.Range(0, 3).Select(_ => RandomCheckpoint(random)).ToList();
        for (var m = 0; m < members.Count; m++)
        {
            await WriteAsync(container, CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile), members[m], await TestLandings.StampAsync(engine.Client, id, CheckpointLayout.MemberSlot(1, m)));
        }

        var soupBlob = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile);
        // The round runs as a sub-orchestration: its phase is read through the pipeline's status.
        await WaitUntilAsync(async () => (await PipelineStatusReader.ReadSummaryAsync(engine.Client, id))?.Progress?.Phase == "evaluating");
        var soup = await CheckpointAsserts.ReadAsync(container, soupBlob);
        CheckpointAsserts.AssertIsElementWiseMean([.. members.Select(m => new SafetensorsContent(m, new Dictionary<string, string>()))], soup);

        var scores = members.Select((_, m) => new Core.Jobs.CheckpointScore(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile), "test", 0.5 + (m / 10.0), 1))
            .Append(new Core.Jobs.CheckpointScore(soupBlob, "test", 0.9, 0.5)).ToList();
        var report = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Core.Jobs.EvaluationReport { Splits = [new("test", 200)], Scores = scores }, Core.SoupJson.Default.EvaluationReport);
        await container.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.EvaluationSlot(1), CheckpointLayout.EvaluationFile)).UploadAsync(
            new BinaryData(report), new Azure.Storage.Blobs.Models.BlobUploadOptions { Metadata = await TestLandings.StampAsync(engine.Client, id, CheckpointLayout.EvaluationSlot(1)) }, TestContext.Current.CancellationToken);

        var view = await WaitAsync(engine, id);
        Assert.Equal("Completed", view.RuntimeStatus);
        Assert.Equal(0.9, view.Result!.Rounds[0].SoupAccuracy);
        Assert.Equal([0.5, 0.6, 0.7], view.Result.Rounds[0].Members.Select(m => m.Accuracy));
    }

    private static PipelineSpec TinySpec() => new()
    {
        Name = "e2e",
        Seed = 11,
        Rounds = 1,
        Data = new DataSpec { Dataset = "tiny", ValidationFraction = 0.2, EvalSplit = "test" },
        Init = new InitSpec { PretrainSteps = 20, LearningRate = 0.05 },
        Members = new MembersSpec { Count = 3, Steps = 20, BatchSize = 32, LearningRates = [0.01, 0.03, 0.05] },
        RoundTimeout = TimeSpan.FromMinutes(5),
    };

    private static async Task<PipelineStatusView> WaitAsync(Soup.Local.LocalEngine engine, string id)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var metadata = await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancel.Token);
        return await RoundResults.LoadAsync(engine.Services.GetRequiredService<SoupStorage>(), PipelineStatusView.From(metadata), cancel.Token);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the pipeline");
            await Task.Delay(250);
        }
    }

    private static async Task WriteAsync(BlobContainerClient container, string blob, IReadOnlyList<TensorData> tensors, IDictionary<string, string> stamp)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, tensors);
        stream.Position = 0;
        await container.GetBlobClient(blob).UploadAsync(stream, new Azure.Storage.Blobs.Models.BlobUploadOptions { Metadata = stamp });
    }

    private static List<TensorData> RandomCheckpoint(Random random)
    {
        TensorData Tensor(string name, params long[] shape)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2) - 1);
            }

            return new TensorData(name, SafetensorsDtype.F32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        }

        return [Tensor("conv.weight", 4, 1, 3, 3), Tensor("fc.bias", 10)];
    }
}
