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
        Assert.Equal(2, Assert.Single(harness.Result(metadata)!.Rounds).Members.Count);
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

    [Fact]
    public async Task HandleManyAsync_ManyLandingsOfOneRound_GoAsFewEvents_AndTheRoundCountsEachOnce()
    {
        // 250 members held by the worker, then landed together as one listing would find them (with a duplicate, a
        // blob of a later round and a stray blob): ceil(250 / MaxPerEvent) events carry them all.
        const int members = 250;
        await using var harness = await PipelineHarness.StartAsync(worker: job => job.Slot.StartsWith("round-", StringComparison.Ordinal) && job.Slot.Contains("member", StringComparison.Ordinal) ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 1, members: members, initCheckpoint: "bases/model.safetensors");
        var id = await harness.StartPipelineAsync(spec);
        await harness.WaitForProgressAsync(id, p => p is { Phase: "training", Pending: members });
        var blobs = Enumerable.Range(0, members).Select(m => CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile))
            .Append(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, 7), CheckpointLayout.CheckpointFile))
            .Append(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(2, 0), CheckpointLayout.CheckpointFile))
            .Append("bases/model.safetensors")
            .ToList();

        var raised = await Handler().HandleManyAsync(harness.Client, blobs, TestContext.Current.CancellationToken);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(members, Assert.Single(harness.Merges).Members.Distinct().Count());
        Assert.Equal((members + 1 + LandingNotice.MaxPerEvent - 1) / LandingNotice.MaxPerEvent, raised.Count); // 3 events
        Assert.Equal(members + 1, raised.Sum(e => e.All().Count())); // round 2 has no instance; the stray blob is no landing
        Assert.All(raised.SelectMany(e => e.More ?? []), n => Assert.Null(n.More));
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
