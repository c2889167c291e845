using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;
using Soup.Orchestration.Activities;

namespace Soup.Orchestration.Tests;

/// <summary>The reconcile activity, which finds landings whose notification was lost, counts only stamped blobs too.</summary>
public sealed class ReconcileLandingsStampTests
{
    [Fact]
    public async Task Reconcile_FindsTheStampedLanding_AndNotAForgedOrUnstampedOne()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true" })
            .Build();
        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions { CheckpointsContainer = "reconcile-" + Guid.NewGuid().ToString("N")[..12] }));
        await storage.Checkpoints.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        const string id = "p";
        const string hash = "0123456789abcdef";
        var slots = Enumerable.Range(0, 4).Select(m => CheckpointLayout.MemberSlot(1, m)).ToList();
        async Task WriteAsync(string slot, IDictionary<string, string>? stamp) =>
            await storage.TryCreateBlobAsync(CheckpointLayout.Blob(id, slot, CheckpointLayout.CheckpointFile), new MemoryStream([1]), stamp, TestContext.Current.CancellationToken);
        await WriteAsync(slots[0], LandingStamp.Of($"{id}/{slots[0]}", hash));        // the job's own
        await WriteAsync(slots[1], null);                                              // no stamp
        await WriteAsync(slots[2], LandingStamp.Of($"{id}/{slots[0]}", hash));        // copied from another slot
        await WriteAsync(slots[3], LandingStamp.Of($"{id}/{slots[3]}", "feedface"));  // another spec's
        var activity = new ReconcileLandingsActivity(storage, new LandingReader(storage), NullLogger<ReconcileLandingsActivity>.Instance);

        var found = await activity.RunAsync(null!, new ReconcileRequest(id, slots, SpecHash: hash));

        Assert.Equal([slots[0]], found.Select(n => n.Slot));
        await storage.Checkpoints.DeleteIfExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
    }
}
