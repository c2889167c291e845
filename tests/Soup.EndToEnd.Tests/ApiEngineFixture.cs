using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Local;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// One local engine without job workers (the orchestration runs, jobs wait in the queue) on a fresh task hub, shared by
/// a class of API tests, and the API over it. Pipelines started here stay Running until cancelled (the round timeout is
/// long), or until a test lands a failure record for them.
/// </summary>
public sealed class ApiEngineFixture : IAsyncLifetime
{
    private readonly AzuriteEngineFixture _azurite = new();

    /// <summary>The engine's settings (its task hub, container and queue names).</summary>
    public IConfiguration Configuration { get; private set; } = null!;

    /// <summary>The engine.</summary>
    public LocalEngine Engine { get; private set; } = null!;

    /// <summary>The API over the engine.</summary>
    public PipelineApi Api { get; private set; } = null!;

    /// <summary>The pipeline's storage.</summary>
    public SoupStorage Storage => Engine.Services.GetRequiredService<SoupStorage>();

    /// <summary>The Durable client.</summary>
    public DurableTaskClient Client => Engine.Client;

    /// <summary>A placeholder for the URL of <c>/api/pipelines</c>.</summary>
    public static Uri PipelinesUri { get; } = new("http://127.0.0.1:7071/api/pipelines");

    /// <summary>A valid spec body; <paramref name="name"/> and <paramref name="seed"/> make it distinct.</summary>
    public static string SpecJson(string name = "api", int seed = 1) => $$"""
        {
          "version": 1, "name": "{{name}}", "seed": {{seed}}, "rounds": 1, "model": "cnn-small",
          "data": { "dataset": "tiny", "validationFraction": 0.2, "evalSplit": "test" },
          "init": { "pretrainSteps": 5, "learningRate": 0.05 },
          "members": { "count": 1, "steps": 5, "batchSize": 16, "learningRates": [0.05] },
          "roundTimeout": "00:30:00"
        }
        """;

    public async ValueTask InitializeAsync()
    {
        Configuration = _azurite.NewConfiguration(workers: 0);
        Engine = await AzuriteEngineFixture.StartEngineAsync(Configuration);
        Api = Engine.Api();
    }

    public async ValueTask DisposeAsync()
    {
        if (Engine is not null)
            await Engine.DisposeAsync();
        _azurite.Dispose();
    }

    /// <summary>Starts a pipeline through the API and returns its id (asserting 202).</summary>
    public async Task<string> StartAsync(string body, string? key = null)
    {
        var result = await Api.StartAsync(body, key, PipelinesUri, TestContext.Current.CancellationToken);
        Assert.True(result.StatusCode == 202, $"start answered {result.StatusCode}: {result.ToJson()}");
        return ((PipelineAccepted)result.Body).Id;
    }

    /// <summary>
    /// Starts a pipeline and makes it fail as a worker would: a failure record lands in its init slot (there are no
    /// workers here). Returns its id once it is Failed.
    /// </summary>
    public async Task<string> StartFailedAsync(string name)
    {
        var id = await StartAsync(SpecJson(name));
        await WaitForQueuedJobAsync(id);
        await Storage.TryCreateJsonAsync(
            CheckpointLayout.Blob(id, CheckpointLayout.InitSlot, CheckpointLayout.FailureFile),
            new FailureRecord($"{id}/{CheckpointLayout.InitSlot}", "failed on purpose by the test", "test", DateTimeOffset.UtcNow),
            SoupJson.Default.FailureRecord,
            await TestLandings.StampAsync(Client, id, CheckpointLayout.InitSlot),
            TestContext.Current.CancellationToken);
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Failed);
        return id;
    }

    /// <summary>Waits until the pipeline's runtime status is <paramref name="status"/>.</summary>
    public async Task<OrchestrationMetadata> WaitForStatusAsync(string id, OrchestrationRuntimeStatus status)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        OrchestrationMetadata? metadata = null;
        while (!timeout.IsCancellationRequested)
        {
            metadata = await Client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken);
            if (metadata?.RuntimeStatus == status)
                return metadata;
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"pipeline '{id}' did not become {status} within 60 s; it is {metadata?.RuntimeStatus}");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Waits until the jobs queue holds a job of <paramref name="pipelineId"/>.</summary>
    public async Task WaitForQueuedJobAsync(string pipelineId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!timeout.IsCancellationRequested)
        {
            var peeked = await Storage.Jobs.PeekMessagesAsync(32, TestContext.Current.CancellationToken);
            if (peeked.Value.Any(m => m.Body.ToString().Contains(pipelineId, StringComparison.Ordinal)))
                return;
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"no job of pipeline '{pipelineId}' reached the queue within 60 s");
    }
}
