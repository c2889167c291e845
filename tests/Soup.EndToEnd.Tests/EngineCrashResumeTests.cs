using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Merging.Checkpoints;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Local;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The local engine killed (SIGKILL) in the middle of a round and started again on the same Azurite data: the pipeline
/// finishes, members that had landed are not trained again, and the members and soups are bit-identical to those of
/// the same spec run without interruption.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed partial class EngineCrashResumeTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static readonly Dictionary<string, string> ShortLease = new() { ["JobVisibilityTimeout"] = "00:00:05" };

    [Fact]
    public async Task Engine_KilledMidRound_RestartFinishesWithTheSameMembersAndSoupsAndNoMemberTrainedTwice()
    {
        var configuration = fixture.NewConfiguration(workers: 1);
        var spec = Spec();
        var specFile = Path.Combine(fixture.DataRoot, $"crash-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(specFile, JsonSerializer.Serialize(spec, new JsonSerializerOptions(JsonSerializerDefaults.Web)), TestContext.Current.CancellationToken);

        // 1. `pipeline run` in its own process; kill it once round 1 has some, but not all, members landed.
        string id;
        var landedBeforeKill = new Dictionary<string, Azure.ETag>();
        var storage = new SoupStorage(configuration, Microsoft.Extensions.Options.Options.Create(configuration.Get<PipelineOptions>()!));
        using (var cli = ProductProcess.StartCli(["run", specFile, "--data-root", fixture.DataRoot], configuration, ShortLease))
        {
            id = await WaitForAsync(() => Task.FromResult(PipelineIdLine().Match(cli.Log) is { Success: true } m ? m.Groups[1].Value : null), cli);
            var members = Enumerable.Range(0, spec.Members.Count).Select(m => Member(storage, id, 1, m)).ToList();
            await WaitForAsync(async () => await LandedAsync(members) is { Count: > 0 } landed && landed.Count < members.Count ? landed : null, cli);
            cli.Crash();
            await cli.WaitForExitAsync(TimeSpan.FromSeconds(30));
            foreach (var member in members)
            {
                if (await member.ExistsAsync(TestContext.Current.CancellationToken))
                    landedBeforeKill[member.Name] = (await member.GetPropertiesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value.ETag;
            }
        }

        Assert.InRange(landedBeforeKill.Count, 1, spec.Members.Count - 1);
        Assert.False(await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile)).ExistsAsync(TestContext.Current.CancellationToken));

        // 2. The engine again, in this process, on the same task hub, containers and queue.
        await using (var engine = await AzuriteEngineFixture.StartEngineAsync(With(configuration, ShortLease)))
        {
            var resumed = await WaitAsync(engine, id);
            Assert.Equal("Completed", resumed.RuntimeStatus);

            foreach (var (name, etag) in landedBeforeKill)
                Assert.Equal(etag, (await storage.Checkpoints.GetBlobClient(name).GetPropertiesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value.ETag);

            // 3. The same spec without interruption: same members, same soups, bit for bit.
            var reference = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal("Completed", (await WaitAsync(engine, reference)).RuntimeStatus);
            for (var round = 1; round <= spec.Rounds; round++)
            {
                for (var m = 0; m < spec.Members.Count; m++)
                    await AssertSameTensorsAsync(Member(storage, reference, round, m), Member(storage, id, round, m));
                await AssertSameTensorsAsync(Soup(storage, reference, round), Soup(storage, id, round));
            }
        }
    }

    private static PipelineSpec Spec() => new()
    {
        Name = "crash",
        Seed = 5,
        Rounds = 2,
        Data = new DataSpec { Dataset = "tiny", ValidationFraction = 0.2, EvalSplit = "test" },
        Init = new InitSpec { PretrainSteps = 20, LearningRate = 0.05 },
        Members = new MembersSpec { Count = 4, Steps = 120, BatchSize = 64, LearningRates = [0.01, 0.02, 0.03, 0.04] },
        RoundTimeout = TimeSpan.FromMinutes(5),
    };

    private static BlobClient Member(SoupStorage storage, string id, int round, int member) =>
        storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(round, member), CheckpointLayout.CheckpointFile));

    private static BlobClient Soup(SoupStorage storage, string id, int round) =>
        storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round), CheckpointLayout.CheckpointFile));

    private static async Task<List<BlobClient>> LandedAsync(IEnumerable<BlobClient> blobs)
    {
        var landed = new List<BlobClient>();
        foreach (var blob in blobs)
        {
            if (await blob.ExistsAsync())
                landed.Add(blob);
        }

        return landed;
    }

    private static async Task AssertSameTensorsAsync(BlobClient expected, BlobClient actual)
    {
        var e = Safetensors.Read((await expected.DownloadContentAsync()).Value.Content.ToMemory(), expected.Name).Tensors;
        var a = Safetensors.Read((await actual.DownloadContentAsync()).Value.Content.ToMemory(), actual.Name).Tensors;
        Assert.Equal(e.Select(t => t.Name), a.Select(t => t.Name));
        foreach (var (x, y) in e.Zip(a))
            Assert.True(x.Data.Span.SequenceEqual(y.Data.Span), $"{actual.Name}: tensor '{x.Name}' differs from the uninterrupted run's");
    }

    private static IConfiguration With(IConfiguration configuration, IReadOnlyDictionary<string, string> overrides) =>
        new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(overrides.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).Build();

    private static async Task<PipelineStatusView> WaitAsync(Soup.Local.LocalEngine engine, string id)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var metadata = await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancel.Token);
        return await RoundResults.LoadAsync(engine.Services.GetRequiredService<SoupStorage>(), PipelineStatusView.From(metadata), cancel.Token);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, ProductProcess process) where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            if (await probe() is { } value)
                return value;
            Assert.True(DateTime.UtcNow < deadline, $"timed out; the process printed:\n{process.Log}");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"Pipeline (\S+): \d+ round")]
    private static partial Regex PipelineIdLine();
}
