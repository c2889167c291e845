using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>
/// The landing handler raises a round's landings on the round's sub-orchestration, and only for blobs stamped with their
/// folder's job and the pipeline's spec (read from Azurite for a single landing, from the listing for many).
/// </summary>
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
        var (handler, storage) = await HandlerOnAzuriteAsync();
        var heldBlob = CheckpointLayout.Blob(id, held, CheckpointLayout.CheckpointFile);
        await storage.TryCreateBlobAsync(heldBlob, new MemoryStream([1]), await StampAsync(harness, id, held), TestContext.Current.CancellationToken);

        var early = await handler.HandleAsync(harness.Client, CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(2, 0), CheckpointLayout.CheckpointFile), TestContext.Current.CancellationToken);
        var notice = await handler.HandleAsync(harness.Client, heldBlob, TestContext.Current.CancellationToken);
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

        var hash = (await StampAsync(harness, id, "any"))[LandingStamp.SpecHashKey];
        var listed = blobs.Select(b => new ListedBlob(b, CheckpointLayout.Parse(b) is { } l ? LandingStamp.Of($"{l.PipelineId}/{l.Slot}", hash) : null));

        var raised = await Handler().HandleManyAsync(harness.Client, listed, TestContext.Current.CancellationToken);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(members, Assert.Single(harness.Merges).Members.Distinct().Count());
        Assert.Equal((members + 1 + LandingNotice.MaxPerEvent - 1) / LandingNotice.MaxPerEvent, raised.Count); // 3 events
        Assert.Equal(members + 1, raised.Sum(e => e.All().Count())); // round 2 has no instance; the stray blob is no landing
        Assert.All(raised.SelectMany(e => e.More ?? []), n => Assert.Null(n.More));
    }

    [Fact]
    public async Task ABlobWithoutTheJobsStamp_CompletesNothing_AndTheRightlyStampedOneDoes()
    {
        await using var harness = await PipelineHarness.StartAsync(worker: job => job.Slot.Contains("member", StringComparison.Ordinal) ? [] : [PipelineHarness.Landed(job)]);
        var id = await harness.StartPipelineAsync(TestSpecs.Create(rounds: 1, members: 3, initCheckpoint: "bases/model.safetensors"));
        await harness.WaitForProgressAsync(id, p => p is { Phase: "training", Pending: 3 });
        var slots = Enumerable.Range(0, 3).Select(m => CheckpointLayout.MemberSlot(1, m)).ToList();
        var good = Enumerable.Range(0, 3).Select(m => LandingStamp.Of($"{id}/{slots[m]}", "")).ToList();
        var hash = (await StampAsync(harness, id, slots[0]))[LandingStamp.SpecHashKey];
        var (handler, storage) = await HandlerOnAzuriteAsync();
        var unstamped = CheckpointLayout.Blob(id, slots[0], CheckpointLayout.CheckpointFile);
        await storage.TryCreateBlobAsync(unstamped, new MemoryStream([1]), TestContext.Current.CancellationToken);

        // No stamp (read from the blob); a stamp copied from another slot; another spec's stamp (both as listed).
        var none = await handler.HandleAsync(harness.Client, unstamped, TestContext.Current.CancellationToken);
        var forged = await handler.HandleManyAsync(harness.Client, [
            new ListedBlob(CheckpointLayout.Blob(id, slots[1], CheckpointLayout.CheckpointFile), LandingStamp.Of($"{id}/{slots[0]}", hash)),
            new ListedBlob(CheckpointLayout.Blob(id, slots[2], CheckpointLayout.FailureFile), LandingStamp.Of($"{id}/{slots[2]}", new string('0', 64))),
        ], TestContext.Current.CancellationToken);
        await Task.Delay(500, TestContext.Current.CancellationToken);
        var waiting = await harness.WaitForProgressAsync(id, p => p is { Phase: "training" });

        Assert.Null(none);
        Assert.Empty(forged);
        Assert.Equal((0, 0, 3), (waiting.Landed, waiting.Failed, waiting.Pending));

        var real = await handler.HandleManyAsync(
            harness.Client, slots.Select(s => new ListedBlob(CheckpointLayout.Blob(id, s, CheckpointLayout.CheckpointFile), LandingStamp.Of($"{id}/{s}", hash))), TestContext.Current.CancellationToken);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(3, Assert.Single(real).All().Count());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.All(good, g => Assert.NotNull(LandingStamp.Problem(CheckpointLayout.Parse(CheckpointLayout.Blob(id, slots[0], CheckpointLayout.CheckpointFile))!, g, hash)));
    }

    /// <summary>The stamp a worker writes on <paramref name="slot"/>'s outputs: the pipeline's spec hash from its input.</summary>
    private static async Task<Dictionary<string, string>> StampAsync(PipelineHarness harness, string id, string slot)
    {
        var instance = await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken);
        return LandingStamp.Of($"{id}/{slot}", instance!.ReadInputAs<PipelineInput>()!.SpecHash);
    }

    /// <summary>A handler whose storage is a fresh container on Azurite (single landings read their blob's stamp).</summary>
    private static async Task<(CheckpointLandingHandler Handler, SoupStorage Storage)> HandlerOnAzuriteAsync()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true" })
            .Build();
        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions { CheckpointsContainer = "handler-" + Guid.NewGuid().ToString("N")[..12] }));
        await storage.Checkpoints.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        return (new CheckpointLandingHandler(new LandingReader(storage), NullLogger<CheckpointLandingHandler>.Instance), storage);
    }

    private static CheckpointLandingHandler Handler()
    {
        // Clients only: listed landings carry their stamps, so no request is made for checkpoints (only failure records are read).
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true" })
            .Build();
        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions()));
        return new CheckpointLandingHandler(new LandingReader(storage), NullLogger<CheckpointLandingHandler>.Instance);
    }
}
