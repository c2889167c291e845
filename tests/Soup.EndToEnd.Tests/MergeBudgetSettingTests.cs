using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Soup.Merging.Checkpoints;
using Soup.Merging;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Orchestration.Activities;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The merge activity on Azurite under the <c>MergeMemoryBudgetMiB</c> setting: bound from configuration as both hosts
/// bind it, a merge that fits runs, one whose members cannot all fit fails before writing, naming the setting.
/// </summary>
public sealed class MergeBudgetSettingTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MergeActivity_UnderTheSetting_MergesWhatFits_AndFailsNamingTheSettingOnWhatCannot()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        IConfiguration settings = new ConfigurationBuilder().AddInMemoryCollection(configuration.AsEnumerable()).AddInMemoryCollection(
            new Dictionary<string, string?> { [nameof(MergeOptions.MergeMemoryBudgetMiB)] = "48" }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(settings).AddSoupPipeline(settings).BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<MergeOptions>>();
        Assert.Equal(48L << 20, options.Value.MemoryBudgetBytes); // the blob output alone holds 40 MiB of blocks
        var storage = services.GetRequiredService<SoupStorage>();
        await storage.EnsureCreatedAsync(Cancel);
        var pipeline = "budget-" + Guid.NewGuid().ToString("N")[..8];
        var members = new List<string>();
        for (var m = 0; m < 200; m++)
        {
            var blob = CheckpointLayout.Blob(pipeline, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile);
            await UploadAsync(storage, blob, m);
            members.Add(blob);
        }

        var activity = services.GetRequiredService<MergeCheckpointsActivity>();
        var parameters = new MergeParameters { Method = "linear" };
        var fits = CheckpointLayout.Blob(pipeline, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile);
        var outcome = await activity.RunAsync(null!, new MergeRequest(members[..4], fits, parameters, members[0], new Dictionary<string, string>()));
        Assert.Equal(1 << 16, outcome.Parameters);
        var soup = Safetensors.Read((await storage.Checkpoints.GetBlobClient(fits).DownloadContentAsync(Cancel)).Value.Content.ToMemory(), fits);
        Assert.Equal(1.5f, MemoryMarshal.Cast<byte, float>(soup.Tensors.Single().Data.Span)[0]); // mean of 0, 1, 2, 3

        var tooMany = CheckpointLayout.Blob(pipeline, CheckpointLayout.SoupSlot(1, "all"), CheckpointLayout.CheckpointFile);
        var failure = await Assert.ThrowsAsync<PipelineFailedException>(() =>
            activity.RunAsync(null!, new MergeRequest(members, tooMany, parameters, members[0], new Dictionary<string, string>())));
        Assert.Contains("MergeMemoryBudgetMiB = 48", failure.Message, StringComparison.Ordinal);
        Assert.Contains("200 member(s)", failure.Message, StringComparison.Ordinal);
        Assert.False((await storage.Checkpoints.GetBlobClient(tooMany).ExistsAsync(Cancel)).Value);
    }

    [Fact]
    public void MergeOptions_ZeroBudget_IsRefusedAtStart()
    {
        var services = new ServiceCollection().AddLogging()
            .AddSoupPipeline(new ConfigurationBuilder().AddInMemoryCollection(
                new Dictionary<string, string?> { [nameof(MergeOptions.MergeMemoryBudgetMiB)] = "0" }).Build())
            .BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<MergeOptions>>().Value);
        Assert.Contains(nameof(MergeOptions.MergeMemoryBudgetMiB), error.Message, StringComparison.Ordinal);
    }

    /// <summary>A member of 65,536 values, all equal to <paramref name="value"/>.</summary>
    private static async Task UploadAsync(SoupStorage storage, string blob, float value)
    {
        var values = Enumerable.Repeat(value, 1 << 16).ToArray();
        using var stream = new MemoryStream();
        Safetensors.Write(stream, [new TensorData("w", SafetensorsDtype.F32, [1 << 16], MemoryMarshal.AsBytes(values.AsSpan()).ToArray())], new Dictionary<string, string>());
        stream.Position = 0;
        await storage.TryCreateBlobAsync(blob, stream, Cancel);
    }
}
