using System.Reflection;
using DurableTask.AzureStorage;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.Configuration;
using Newtonsoft.Json.Linq;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Orchestration.Tests.Replay;
using Soup.Local;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// Records the histories of a pipeline and of its round while they are in flight, on the local engine (the Azure
/// Storage provider on Azurite), and checks that every episode of them replays on the current code. With
/// <c>SOUP_RECORD_REPLAY_FIXTURES=1</c> (<c>scripts/record-replay-fixtures.sh</c>) it also writes them over the fixtures
/// that Soup.Orchestration.Tests replays offline (<c>tests/Soup.Orchestration.Tests/Replay/Fixtures</c>): re-record
/// when a breaking change has been versioned (docs/ARCHITECTURE.md, "Changing orchestrations").
/// No job workers run: the test lands the init and one member itself, by writing their blobs.
/// </summary>
public sealed class ReplayFixtureRecorder(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    /// <summary>The pipeline id in the fixtures (each run has a task hub of its own).</summary>
    public const string PipelineId = "replay-fixture";

    [Fact]
    public async Task InFlightPipelineAndRound_Recorded_EveryEpisodeReplaysOnTheCurrentCode()
    {
        var cancel = TestContext.Current.CancellationToken;
        var configuration = fixture.NewConfiguration(workers: 0);
        var storage = new SoupStorage(configuration, Microsoft.Extensions.Options.Options.Create(configuration.Get<PipelineOptions>()!));
        var history = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = LocalConfiguration.Engine(configuration).TaskHubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(LocalConfiguration.Engine(configuration).AzureWebJobsStorage),
        });
        var round = LandingEvents.RoundInstance(PipelineId, 1);
        HistoryFixture pipeline, roundFixture;
        await using (var engine = await AzuriteEngineFixture.StartEngineAsync(configuration))
        {
            await PipelineStarter.StartAsync(engine.Client, engine.Specs, Spec(), () => PipelineId, cancel);

            // The pipeline waits for its init (a timer is its silence bound); the init lands; round 1 starts and waits.
            await WaitForHistoryAsync(history, PipelineId, h => h.OfType<TimerCreatedEvent>().Any());
            await LandAsync(engine, storage, CheckpointLayout.InitSlot, cancel);
            await WaitForHistoryAsync(history, round, h => h.OfType<TimerCreatedEvent>().Any());

            // One of the round's three members lands; the round goes on waiting for the other two.
            await LandAsync(engine, storage, CheckpointLayout.MemberSlot(1, 0), cancel);
            await WaitForHistoryAsync(history, round, h => h.OfType<EventRaisedEvent>().Any());

            pipeline = await ReadAsync(history, TaskNames.Pipeline, PipelineId, "round 1 running as a sub-orchestration; init landed through its event");
            roundFixture = await ReadAsync(history, TaskNames.Round, round, "training: 1 of 3 members landed (its event), 2 awaited, silence timer open");
            await engine.Client.TerminateInstanceAsync(PipelineId, new TerminateInstanceOptions { Recursive = true }, cancel);
        }

        foreach (var (recorded, orchestrator) in new (HistoryFixture, ITaskOrchestrator)[] { (pipeline, new PipelineOrchestrator()), (roundFixture, new RoundOrchestrator()) })
        {
            Assert.True(HistoryReplayer.Episodes(recorded.History).Count >= 3, $"{recorded.InstanceId}: too short a history to be worth replaying");
            for (var k = 0; k < HistoryReplayer.Episodes(recorded.History).Count; k++)
            {
                var (now, then) = HistoryReplayer.ReplayEpisode(recorded, k, orchestrator);
                Assert.Equal(then, now.Described);
            }
        }

        if (Environment.GetEnvironmentVariable("SOUP_RECORD_REPLAY_FIXTURES") == "1")
        {
            var folder = Path.Combine(RepositoryRoot(), "tests", "Soup.Orchestration.Tests", "Replay", "Fixtures");
            pipeline.Save(Path.Combine(folder, "pipeline-round-running.json"));
            roundFixture.Save(Path.Combine(folder, "round-members-pending.json"));
        }
    }

    /// <summary>Three members, a long silence bound (no timer fires while the test runs), two rounds.</summary>
    private static PipelineSpec Spec() => new()
    {
        Name = "replay",
        Seed = 5,
        Rounds = 2,
        Data = new DataSpec { Dataset = "tiny", ValidationFraction = 0.2, EvalSplit = "test" },
        Init = new InitSpec { PretrainSteps = 20, LearningRate = 0.05 },
        Members = new MembersSpec { Count = 3, Steps = 20, BatchSize = 64, LearningRates = [0.01, 0.02, 0.03] },
        RoundTimeout = TimeSpan.FromHours(1),
    };

    private static async Task LandAsync(Soup.Local.LocalEngine engine, SoupStorage storage, string slot, CancellationToken cancel) =>
        await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(PipelineId, slot, CheckpointLayout.CheckpointFile)).UploadAsync(
            BinaryData.FromString("not read by the orchestration"),
            new Azure.Storage.Blobs.Models.BlobUploadOptions { Metadata = await TestLandings.StampAsync(engine.Client, PipelineId, slot) },
            cancel);

    private static async Task<HistoryFixture> ReadAsync(AzureStorageOrchestrationService service, string name, string instanceId, string state)
    {
        var executionId = (await service.GetOrchestrationStateAsync(instanceId, allExecutions: false)).Single().OrchestrationInstance.ExecutionId;
        var events = Parse(await service.GetOrchestrationHistoryAsync(instanceId, executionId));

        // The same conversion the local engine's sidecar applies before its worker replays the history.
        return new HistoryFixture(name, instanceId, executionId, state, [.. events.Select(ProtobufUtils.ToHistoryEventProto)]);
    }

    private static async Task<List<HistoryEvent>> WaitForHistoryAsync(AzureStorageOrchestrationService service, string instanceId, Func<List<HistoryEvent>, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            if ((await service.GetOrchestrationStateAsync(instanceId, allExecutions: false)).SingleOrDefault() is { } state
                && Parse(await service.GetOrchestrationHistoryAsync(instanceId, state.OrchestrationInstance.ExecutionId)) is var events
                && done(events))
            {
                return events;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{instanceId} did not reach the expected point");
            await Task.Delay(200);
        }
    }

    /// <summary>The provider's history JSON (Newtonsoft, no type names): each event by its <c>EventType</c>.</summary>
    private static List<HistoryEvent> Parse(string json) =>
        [.. JArray.Parse(json).Cast<JObject>().Select(e =>
        {
            var type = (EventType)e["EventType"]!.Value<int>();
            var clr = typeof(HistoryEvent).Assembly.GetType($"DurableTask.Core.History.{type}Event", throwOnError: true)!;
            return (HistoryEvent)e.ToObject(clr)!;
        })];

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Pipeline.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Pipeline.sln not found above the test output");
    }
}
