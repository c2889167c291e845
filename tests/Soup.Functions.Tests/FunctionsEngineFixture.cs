using System.Security.Cryptography;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Reports;

namespace Soup.Functions.Tests;

/// <summary>
/// The services the HTTP functions get from the Functions host: a Durable client (here the in-memory Durable engine
/// running the real pipeline orchestration and activities) and the pipeline's storage on Azurite, with a fresh container
/// and queue per test class. No workers: dispatched jobs wait in the queue and pipelines stay Running.
/// </summary>
public sealed class FunctionsEngineFixture : IAsyncLifetime
{
    private DurableTaskTestHost? _host;

    /// <summary>The Durable client a <c>[DurableClient]</c> binding would give.</summary>
    public DurableTaskClient Client => _host!.Client;

    /// <summary>The services a function context would hold.</summary>
    public IServiceProvider Services => _host!.Services;

    /// <summary>The pipeline's storage.</summary>
    public SoupStorage Storage => Services.GetRequiredService<SoupStorage>();

    public async ValueTask InitializeAsync()
    {
        var suffix = RandomNumberGenerator.GetHexString(8, lowercase: true);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true",
            ["CheckpointsContainer"] = "fn-ckpt-" + suffix,
            ["JobsQueue"] = "fn-jobs-" + suffix,
            ["SpecsContainer"] = "fn-specs-" + suffix,
            ["ReportsContainer"] = "fn-reports-" + suffix,
        }).Build();
        _host = await DurableTaskTestHost.StartAsync(
            registry => registry.AddSoupPipelineTasks(),
            new DurableTaskTestHostOptions
            {
                LoggerFactory = NullLoggerFactory.Instance,
                Port = Soup.Orchestration.Tests.FreePorts.Next(),
                ConfigureServices = services => services.AddSingleton<IConfiguration>(configuration).AddSoupPipeline(configuration).AddSoupReports(),
            });
        try
        {
            await Storage.EnsureCreatedAsync();
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException("These tests need Azurite on 127.0.0.1:10000-10002: run scripts/test.sh, which starts it.", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
    }

    /// <summary>A valid spec body.</summary>
    public static string SpecJson(string name = "fn", int seed = 1) => $$"""
        {
          "version": 1, "name": "{{name}}", "seed": {{seed}}, "rounds": 1, "model": "cnn-small",
          "data": { "dataset": "tiny" },
          "init": { "pretrainSteps": 5 },
          "members": { "count": 1, "steps": 5, "batchSize": 16, "learningRates": [0.05] },
          "roundTimeout": "00:30:00"
        }
        """;

    /// <summary>A request to a function, with this fixture's services in its context.</summary>
    internal FakeHttpRequest Request(string method, string url, string body = "") => new(body, url, method, Services);
}
