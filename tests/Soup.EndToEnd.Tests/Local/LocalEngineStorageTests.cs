using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Storage;
using Soup.Local;

namespace Soup.EndToEnd.Tests.Local;

/// <summary>
/// <see cref="LocalEngine.DeleteStorageAsync"/>, which every benchmark runs when it ends: the engine's own task hub,
/// checkpoints container and job queues go; the spec and report containers, which other runs share, stay.
/// </summary>
public sealed class LocalEngineStorageTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task DeleteStorage_RemovesTheTaskHubContainerAndQueues_KeepsSharedContainers()
    {
        var ct = TestContext.Current.CancellationToken;
        var configuration = fixture.NewConfiguration(workers: 0);
        var hub = configuration["TaskHubName"]!;
        SoupStorage storage;
        // The client-only engine creates the same task hub, container and queues without starting the dispatcher: an
        // engine stopped straight after its start once crashed the test host inside the Azure Storage provider's
        // StopAsync (a NullReferenceException on the thread pool, CI of 2026-12-04).
        await using (var engine = await LocalEngine.StartClientAsync(configuration, cancellationToken: ct))
        {
            storage = engine.Services.GetRequiredService<SoupStorage>();
            await storage.Checkpoints.GetBlobClient("p/round-01/member-000/model.safetensors").UploadAsync(BinaryData.FromString("x"), ct);
            await storage.Jobs.SendMessageAsync("{}", ct);
        }

        var tables = new TableServiceClient("UseDevelopmentStorage=true");
        Assert.True(await TableExistsAsync(tables, hub + "Instances", ct), "the engine created its task hub");

        await LocalEngine.DeleteStorageAsync(configuration, ct);

        Assert.False((await storage.Checkpoints.ExistsAsync(ct)).Value, "checkpoints container");
        Assert.False((await storage.Jobs.ExistsAsync(ct)).Value, "jobs queue");
        Assert.False((await storage.JobsPoison.ExistsAsync(ct)).Value, "poison queue");
        Assert.False(await TableExistsAsync(tables, hub + "Instances", ct), "task hub instances table");
        Assert.False(await TableExistsAsync(tables, hub + "History", ct), "task hub history table");
        Assert.True((await storage.Specs.ExistsAsync(ct)).Value, "the specs container is shared and stays");
        Assert.True((await storage.Reports.ExistsAsync(ct)).Value, "the reports container is shared and stays");

        // Twice is harmless: a benchmark that failed before its engine started still cleans up.
        await LocalEngine.DeleteStorageAsync(configuration, ct);
        await storage.Specs.DeleteIfExistsAsync(cancellationToken: ct);
        await storage.Reports.DeleteIfExistsAsync(cancellationToken: ct);
    }

    private static async Task<bool> TableExistsAsync(TableServiceClient tables, string name, CancellationToken ct)
    {
        await foreach (var _ in tables.QueryAsync(t => t.Name == name, cancellationToken: ct))
        {
            return true;
        }

        return false;
    }
}
