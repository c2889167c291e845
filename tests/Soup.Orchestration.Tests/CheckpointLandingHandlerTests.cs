using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>The landing handler raises a round's landings on the round's sub-orchestration (no storage is read for them).</summary>
public sealed class CheckpointLandingHandlerTests
{
    [Fact]
    public async Task HandleAsync_MemberCheckpointOfRunningRound_CompletesTheMemberInTheRoundInstance()
    {
        var held = CheckpointLayout.MemberSlot(1, 1);
        await using var harness = await PipelineHarness.StartAsync(worker: job => job.Slot == held ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: 2, initCheckpoint: "bases/model.safetensors");
        var id = await harness.StartPipelineAsync(spec);
        await harness.WaitForProgressAsync(id, p => p is { Phase: "training", Landed: 1 });
        var handler = Handler();

        var early = await handler.HandleAsync(harness.Client, CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(2, 0), CheckpointLayout.CheckpointFile), TestContext.Current.CancellationToken);
        var notice = await handler.HandleAsync(harness.Client, CheckpointLayout.Blob(id, held, CheckpointLayout.CheckpointFile), TestContext.Current.CancellationToken);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Null(early); // round 2 has no instance: nothing is raised into the void
        Assert.Equal((held, LandingKind.Checkpoint), (notice!.Slot, notice.Kind));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(2, Assert.Single(metadata.ReadOutputAs<PipelineResult>()!.Rounds).Members.Count);
    }

    [Fact]
    public async Task HandleAsync_BlobOfEndedRoundOrUnknownPipeline_RaisesNothing()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, members: 1, initCheckpoint: "bases/model.safetensors");
        var id = await harness.StartPipelineAsync(spec);
        await harness.WaitForEndAsync(id);
        var handler = Handler();

        Assert.Null(await handler.HandleAsync(harness.Client, CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile), TestContext.Current.CancellationToken));
        Assert.Null(await handler.HandleAsync(harness.Client, "no-such-pipeline/round-01/member-000/model.safetensors", TestContext.Current.CancellationToken));
        Assert.Null(await handler.HandleAsync(harness.Client, "bases/model.safetensors", TestContext.Current.CancellationToken));
    }

    private static CheckpointLandingHandler Handler()
    {
        // Clients only: no request is made for checkpoint landings (only failure records are read).
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true" })
            .Build();
        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions()));
        return new CheckpointLandingHandler(new LandingReader(storage), NullLogger<CheckpointLandingHandler>.Instance);
    }
}
