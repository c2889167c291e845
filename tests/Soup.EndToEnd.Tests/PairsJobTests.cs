using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Training.Text;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The pairs job's draw on Azurite with the real worker: every dataset and the report come from the one draw stored
/// first, so a copy of the job that finds a draw (its first delivery was preempted between two datasets) writes that
/// draw's datasets and samples nothing; a finished job leaves no draw behind; an unreadable draw fails the job naming it.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PairsJobTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Runner_PairsJob_WritesConsistentDatasetsAndItsReport_AndLeavesNoDraw()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, runner, storage) = await WorkerAsync();
        using var disposeHost = host;
        var job = Job();

        await runner.RunAsync(job, ct);

        var report = await storage.ReadJsonAsync(CheckpointLayout.OutputBlob(job), SoupJson.Default.PairsReport, ct);
        var train = await ReadAsync(storage, job, PairDatasets.Train);
        var clean = await ReadAsync(storage, job, PairDatasets.Clean);
        var test = await ReadAsync(storage, job, PairDatasets.Test);
        Assert.Equal((20, 6), (report.Train, report.Test));
        Assert.Equal((20, 20, 6), (train.Count, clean.Count, test.Count));

        // pairs:train is pairs:clean with exactly the report's count of labels swapped, pair for pair.
        var swapped = 0;
        for (var i = 0; i < clean.Count; i++)
        {
            Assert.Equal(clean[i].Prompt, train[i].Prompt);
            if (train[i] == clean[i])
                continue;
            Assert.Equal((clean[i].Chosen, clean[i].Rejected), (train[i].Rejected, train[i].Chosen));
            swapped++;
        }

        Assert.Equal(report.Flipped, swapped);
        Assert.Equal(5, swapped); // a quarter of 20
        Assert.False((await storage.Checkpoints.GetBlobClient(PairDatasets.DrawBlob(job.PipelineId)).ExistsAsync(ct)).Value);
    }

    [Fact]
    public async Task Runner_PairsJobRedeliveredAfterItsDrawWasStored_WritesThatDrawsDatasetsAndReport_NotANewSample()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, runner, storage) = await WorkerAsync();
        using var disposeHost = host;
        var job = Job();

        // A first copy drew these pairs, stored the draw and wrote pairs:train, then was preempted. They are not what
        // this corpus gives, so a copy that sampled again would write other clean and test pairs beside that train.
        PreferencePair[] drawn = [new("Day 1:", "short.", "a much longer answer than that."), new("Day 2:", "tiny.", "a rather long completion indeed.")];
        PreferencePair[] flipped = [new("Day 1:", "a much longer answer than that.", "short."), drawn[1]];
        PreferencePair[] heldOut = [new("Day 3:", "ok.", "this one goes on and on and on.")];
        var report = new PairsReport(job.Reward, "corpus", null, 2, 1, 1, 0, 7, 0, 11, 0, 40);
        var draw = new PairsDraw("first-copy", report, new Dictionary<string, string>
        {
            [PairDatasets.Train] = PreferencePairs.ToText(flipped),
            [PairDatasets.Clean] = PreferencePairs.ToText(drawn),
            [PairDatasets.Test] = PreferencePairs.ToText(heldOut),
        });
        Assert.True(await storage.TryCreateJsonAsync(PairDatasets.DrawBlob(job.PipelineId), draw, SoupJson.Default.PairsDraw, ct));
        Assert.True(await storage.TryCreateBlobAsync(PairDatasets.Blob(job.PipelineId, PairDatasets.Train), new MemoryStream(Encoding.UTF8.GetBytes(draw.Datasets[PairDatasets.Train])), ct));

        await runner.RunAsync(job, ct);

        foreach (var (dataset, text) in draw.Datasets)
            Assert.Equal(text, await storage.ReadTextAsync(PairDatasets.Blob(job.PipelineId, dataset), int.MaxValue, ct));
        Assert.False((await storage.Checkpoints.GetBlobClient(PairDatasets.Blob(job.PipelineId, PairDatasets.Shifted)).ExistsAsync(ct)).Value);
        Assert.Equal(report, await storage.ReadJsonAsync(CheckpointLayout.OutputBlob(job), SoupJson.Default.PairsReport, ct));
        Assert.False((await storage.Checkpoints.GetBlobClient(PairDatasets.DrawBlob(job.PipelineId)).ExistsAsync(ct)).Value);
    }

    [Theory]
    [InlineData("{\"jobId\": \"x\", \"report\": ", "cannot be read")] // cut short
    [InlineData("null", "cannot be read")]
    [InlineData("{\"jobId\": \"x\", \"datasets\": {}}", "lacks its report")]
    [InlineData("{\"jobId\": \"x\", \"report\": {\"reward\": \"conciseness-6\", \"completions\": \"corpus\", \"train\": 1}, \"datasets\": {\"pairs:train\": \"\"}}", "lacks pairs:clean")]
    public async Task Runner_PairsJobFindingADrawItCannotUse_FailsNamingIt_AndWritesNoDataset(string content, string problem)
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, runner, storage) = await WorkerAsync();
        using var disposeHost = host;
        var job = Job();
        var blob = PairDatasets.DrawBlob(job.PipelineId);
        Assert.True(await storage.TryCreateBlobAsync(blob, new MemoryStream(Encoding.UTF8.GetBytes(content)), ct));

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => runner.RunAsync(job, ct));

        Assert.Contains($"the pairs draw '{blob}' {problem}", failure.Message, StringComparison.Ordinal);
        foreach (var dataset in PairDatasets.All)
            Assert.False((await storage.Checkpoints.GetBlobClient(PairDatasets.Blob(job.PipelineId, dataset)).ExistsAsync(ct)).Value);
        Assert.False((await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).ExistsAsync(ct)).Value);
    }

    [Fact]
    public async Task Runner_PairsJobStoppedWhileSampling_SamplesOnFromItsSavedStateWhenRunAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, runner, storage) = await WorkerAsync(new Dictionary<string, string?> { ["ResumeInterval"] = "00:00:00" }); // a save after every batch
        using var disposeHost = host;
        var policy = $"bases/pairs-policy-{Guid.NewGuid():N}.safetensors";
        await WritePolicyAsync(storage, policy);
        var job = Job() with { Policy = policy, TrainPairs = 120, TestPairs = 8, MaxNewTokens = 8 }; // many batches after the first save: stopped mid-sampling
        var state = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.SamplingStateFile));

        // Stopped (as SIGTERM stops a job) once it has saved where it stands.
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var running = runner.RunAsync(job, stop.Token);
            while (!running.IsCompleted && !(await state.ExistsAsync(ct)).Value)
                await Task.Delay(50, ct);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        }

        Assert.False((await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).ExistsAsync(ct)).Value);

        // Mark the first pair it made: only a run that goes on from the saved state can write that mark.
        var saved = System.Text.Json.Nodes.JsonNode.Parse((await state.DownloadContentAsync(ct)).Value.Content.ToString())!;
        var first = saved["State"]!["Made"]![0]![0]!;
        var marked = "MARK " + first["Chosen"]!.GetValue<string>();
        first["Chosen"] = marked;
        await state.UploadAsync(BinaryData.FromString(saved.ToJsonString()), overwrite: true, ct);

        await runner.RunAsync(job, ct);

        var clean = await ReadAsync(storage, job, PairDatasets.Clean);
        Assert.Equal(marked, clean[0].Chosen);
        Assert.Equal(120, clean.Count);
        Assert.Equal(120, (await storage.ReadJsonAsync(CheckpointLayout.OutputBlob(job), SoupJson.Default.PairsReport, ct)).Train);
        Assert.False((await state.ExistsAsync(ct)).Value); // gone with the draw once the report landed
        Assert.False((await storage.Checkpoints.GetBlobClient(PairDatasets.DrawBlob(job.PipelineId)).ExistsAsync(ct)).Value);
    }

    [Fact]
    public async Task Runner_PairsJobWithASavedStateItCannotGoOnFrom_SamplesFromTheStart()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, runner, storage) = await WorkerAsync();
        using var disposeHost = host;
        var policy = $"bases/pairs-policy-{Guid.NewGuid():N}.safetensors";
        await WritePolicyAsync(storage, policy);
        var job = Job() with { Policy = policy, MaxNewTokens = 8 };

        // This job's own fingerprint, with a place that does not exist (part 7).
        var fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes<Job>(job, SoupJson.Default.Job)));
        var state = $"{{\"Fingerprint\": \"{fingerprint}\", \"JobId\": \"{job.JobId}\", \"State\": {{\"Part\": 7, \"Pass\": 0, \"Start\": 0, \"Made\": [[], [], []], \"Ties\": 0, \"Empty\": 0, \"Used\": 0, \"Truncated\": 0}}}}";
        await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.SamplingStateFile)).UploadAsync(BinaryData.FromString(state), ct);

        await runner.RunAsync(job, ct);

        Assert.Equal((20, 6), ((await ReadAsync(storage, job, PairDatasets.Clean)).Count, (await ReadAsync(storage, job, PairDatasets.Test)).Count));
    }

    [Fact]
    public async Task Runner_PairsJobFoundDone_DeletesTheDrawAndStateItsFinisherLeft()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, runner, storage) = await WorkerAsync();
        using var disposeHost = host;
        var job = Job();
        var left = new[] { PairDatasets.DrawBlob(job.PipelineId), CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.SamplingStateFile) };
        foreach (var blob in left)
            await storage.Checkpoints.GetBlobClient(blob).UploadAsync(BinaryData.FromString("{}"), ct);
        Assert.True(await storage.TryCreateJsonAsync(CheckpointLayout.OutputBlob(job), new PairsReport(job.Reward, "corpus", null, 20, 5, 6, 0, 0, 0, 26, 0, 60), SoupJson.Default.PairsReport, ct));

        await runner.RunAsync(job, ct);

        foreach (var blob in left)
            Assert.False((await storage.Checkpoints.GetBlobClient(blob).ExistsAsync(ct)).Value, blob);
    }

    /// <summary>Writes a seeded gpt2-tiny language model to <paramref name="blob"/>.</summary>
    private static async Task WritePolicyAsync(SoupStorage storage, string blob)
    {
        Soup.Training.TorchSetup.Initialize();
        using var generator = new TorchSharp.torch.Generator(5);
        using var model = new Soup.Training.Models.Gpt2LanguageModel(LanguageModelling.Config("gpt2-tiny"), initGenerator: generator);
        using var stream = new MemoryStream();
        Soup.Merging.Checkpoints.Safetensors.Write(stream, Soup.Training.Checkpoints.TorchCheckpoint.ToTensorData(model), new Dictionary<string, string> { ["model"] = "gpt2-tiny" });
        stream.Position = 0;
        await storage.Checkpoints.GetBlobClient(blob).UploadAsync(stream, TestContext.Current.CancellationToken);
    }

    private async Task<(IHost Host, JobRunner Runner, SoupStorage Storage)> WorkerAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var host = TestWorkerHost.Build(fixture.NewConfiguration(workers: 0), overrides);
        var storage = host.Services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        return (host, host.Services.GetRequiredService<JobRunner>(), storage);
    }

    /// <summary>A pairs job over real continuations of a small corpus written under the fixture's data root.</summary>
    private PairsJob Job()
    {
        var corpus = "pairs-corpus-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Path.Combine(fixture.DataRoot, corpus);
        Directory.CreateDirectory(folder);
        string[] middles = ["was late again", "looked very happy and waved at everyone in the street", "ran", "made a funny noise that nobody could explain"];
        var random = new Random(5);
        File.WriteAllText(
            Path.Combine(folder, "daily.txt"),
            string.Join("\n%\n", Enumerable.Range(0, 120).Select(i => $"Day {i}: the dog {middles[random.Next(middles.Length)]} {middles[random.Next(middles.Length)]}.")) + "\n");
        return new PairsJob
        {
            PipelineId = "pairs-" + Guid.NewGuid().ToString("N")[..8],
            Slot = PairDatasets.Slot,
            Model = "gpt2-tiny",
            Corpus = new DataRef { Dataset = corpus, Layout = DataLayouts.Text, Domains = ["daily.txt"], Part = DataParts.Out, HoldoutFraction = 0.5, SplitSeed = 3 },
            Reward = "conciseness-6",
            Noise = 0.25,
            TrainPairs = 20,
            TestPairs = 6,
            PromptTokens = 3,
            MaxNewTokens = 12,
            Seed = 1,
        };
    }

    private static async Task<IReadOnlyList<PreferencePair>> ReadAsync(SoupStorage storage, PairsJob job, string dataset)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pairs-{Guid.NewGuid():N}.jsonl");
        try
        {
            await storage.Checkpoints.GetBlobClient(PairDatasets.Blob(job.PipelineId, dataset)).DownloadToAsync(path, TestContext.Current.CancellationToken);
            return PreferencePairs.Read(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
