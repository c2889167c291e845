using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Cli.Commands;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Local;
using Soup.Training;
using Soup.Training.Data;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// A tiny generated dataset and unique names (task hub, container, queue) per test run, so runs never see each
/// other's state in the shared Azurite.
/// </summary>
public sealed class AzuriteEngineFixture : IDisposable
{
    public AzuriteEngineFixture()
    {
        DataRoot = Directory.CreateTempSubdirectory("soup-e2e-data-").FullName;
        TinyIdxDataset.Write(Path.Combine(DataRoot, "tiny"), trainCount: 600, testCount: 200, seed: 3);
    }

    /// <summary>The data root holding the <c>tiny</c> dataset.</summary>
    public string DataRoot { get; }

    /// <summary>Settings for one engine: fresh task hub, container and queue names.</summary>
    public IConfiguration NewConfiguration(int workers)
    {
        var suffix = RandomNumberGenerator.GetHexString(8, lowercase: true);
        return LocalConfiguration.Build(DataRoot, workers, new Dictionary<string, string?>
        {
            ["TaskHubName"] = "e2e" + suffix.Replace('0', 'a'),
            ["CheckpointsContainer"] = "ckpt-" + suffix,
            ["JobsQueue"] = "jobs-" + suffix,
            ["SpecsContainer"] = "specs-" + suffix,
            ["ReportsContainer"] = "reports-" + suffix,
            ["LandingPollInterval"] = "00:00:00.500",
            ["QueuePollInterval"] = "00:00:00.250",
            ["CancellationCheckInterval"] = "00:00:01",
        });
    }

    /// <summary>
    /// Starts a pipeline of <paramref name="spec"/> on <paramref name="engine"/> and waits for its end (at most
    /// <paramref name="timeout"/>); returns its status with every round's result loaded in full.
    /// </summary>
    public static async Task<PipelineStatusView> RunToEndAsync(LocalEngine engine, PipelineSpec spec, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken: TestContext.Current.CancellationToken);
        using var cancel = new CancellationTokenSource(timeout);
        var ended = await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancel.Token);
        return await RoundResults.LoadAsync(engine.Services.GetRequiredService<SoupStorage>(), PipelineStatusView.From(ended), cancel.Token);
    }

    /// <summary>Starts an engine, failing with a clear message when Azurite is not running.</summary>
    public static async Task<LocalEngine> StartEngineAsync(IConfiguration configuration)
    {
        try
        {
            return await LocalEngine.StartAsync(configuration);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException("These tests need Azurite on 127.0.0.1:10000-10002: run scripts/test.sh, which starts it.", ex);
        }
    }

    public void Dispose() => Directory.Delete(DataRoot, recursive: true);
}
