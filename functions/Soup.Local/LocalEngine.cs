using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Orchestration;
using Soup.Reports;

namespace Soup.Local;

/// <summary>
/// The pipeline in one process, without the Functions host: the Durable Task engine with the Azure Storage provider
/// (the one Durable Functions uses) served over gRPC on loopback, a Durable Task worker running the very orchestration
/// and activities the Functions app runs, a container watcher standing in for the blob trigger, and job workers.
/// </summary>
public sealed class LocalEngine : IAsyncDisposable
{
    private readonly WebApplication _sidecar;
    private readonly IHost _app;
    private readonly GrpcChannel _channel;

    private LocalEngine(WebApplication sidecar, IHost app, GrpcChannel channel)
    {
        this._sidecar = sidecar;
        this._app = app;
        this._channel = channel;
    }

    /// <summary>The client that starts and queries pipelines.</summary>
    public DurableTaskClient Client => _app.Services.GetRequiredService<DurableTaskClient>();

    /// <summary>Where the engine's pipelines' specs are stored (by hash) while they run.</summary>
    public ISpecStore Specs => _app.Services.GetRequiredService<ISpecStore>();

    /// <summary>The services of the engine (storage, options).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The HTTP API's logic over this engine's client, storage and report renderer.</summary>
    public PipelineApi Api() => new(
        Client, Services.GetRequiredService<SoupStorage>(), reports: Services.GetRequiredService<IPipelineReportRenderer>(),
        limits: Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PipelineLimits>>().Value);

    /// <summary>Starts the engine with <paramref name="configuration"/> (settings as in local.settings.sample.json).</summary>
    public static Task<LocalEngine> StartAsync(IConfiguration configuration, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default) =>
        StartCoreAsync(configuration, clientOnly: false, logging, cancellationToken);

    /// <summary>
    /// Starts only the client side on the same task hub: the sidecar serves the management API (start, query,
    /// terminate) but dispatches nothing, and there are no Durable workers, container watcher or job workers. For
    /// commands that read or steer pipelines run by another process (<c>pipeline status</c>, <c>list</c>, <c>cancel</c>).
    /// </summary>
    public static Task<LocalEngine> StartClientAsync(IConfiguration configuration, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default) =>
        StartCoreAsync(configuration, clientOnly: true, logging, cancellationToken);

    /// <summary>
    /// Deletes what an engine on <paramref name="configuration"/> stored that no other run shares: its task hub (history,
    /// instances, control queues, large messages), its checkpoints container and its job queues. For throw-away engines
    /// (benchmarks), whose checkpoints otherwise pile up in Azurite's folder: the spec and report containers are shared
    /// by every run on the account, so they stay.
    /// </summary>
    public static async Task DeleteStorageAsync(IConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var service = new AzureStorageOrchestrationService(Settings(LocalConfiguration.Engine(configuration), logging: null));
        await service.DeleteAsync();
        var storage = new SoupStorage(configuration, Microsoft.Extensions.Options.Options.Create(LocalConfiguration.Pipeline(configuration)));
        await storage.Checkpoints.DeleteIfExistsAsync(cancellationToken: cancellationToken);
        await storage.Jobs.DeleteIfExistsAsync(cancellationToken);
        await storage.JobsPoison.DeleteIfExistsAsync(cancellationToken);
    }

    private static AzureStorageOrchestrationServiceSettings Settings(LocalEngineOptions options, Action<ILoggingBuilder>? logging) => new()
    {
        TaskHubName = options.TaskHubName,
        StorageAccountClientProvider = new StorageAccountClientProvider(options.AzureWebJobsStorage),
        MaxQueuePollingInterval = options.MaxQueuePollingInterval,
        // A deduplicated start (an idempotency key reused) fails with OrchestrationAlreadyExistsException instead of
        // silently doing nothing, so callers can tell a new pipeline from an existing one.
        ThrowExceptionOnInvalidDedupeStatus = true,
        ExtendedSessionsEnabled = true,
        LoggerFactory = LoggerFactory.Create(b => ConfigureLogging(b, logging)),
    };

    private static async Task<LocalEngine> StartCoreAsync(IConfiguration configuration, bool clientOnly, Action<ILoggingBuilder>? logging, CancellationToken cancellationToken)
    {
        var options = LocalConfiguration.Engine(configuration);
        var service = new AzureStorageOrchestrationService(Settings(options, logging));
        await service.CreateIfNotExistsAsync();

        var sidecar = BuildSidecar(service, clientOnly, logging);
        await sidecar.StartAsync(cancellationToken);
        var address = sidecar.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var channel = GrpcChannel.ForAddress(address);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        ConfigureLogging(builder.Logging, logging);
        builder.Services.AddSoupPipeline(builder.Configuration);
        builder.Services.AddSoupReports();
        builder.Services.AddDurableTaskClient(b => b.UseGrpc(channel));
        builder.Services.AddSingleton(options);
        if (!clientOnly)
        {
            builder.Services.AddDurableTaskWorker(b => b.UseGrpc(channel).AddTasks(r => r.AddSoupPipelineTasks()));
            builder.Services.AddSingleton<ContainerLandingWatcher>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ContainerLandingWatcher>());
            builder.Services.AddSingleton<IJobDispatchObserver>(sp => sp.GetRequiredService<ContainerLandingWatcher>());
            if (options.RetentionInterval > TimeSpan.Zero)
                builder.Services.AddHostedService<RetentionLoop>();
        }

        if (!clientOnly && options.InProcessWorkers > 0)
        {
            builder.Services.AddSoupJobs(builder.Configuration, options.InProcessWorkers);
        }

        var app = builder.Build();
        await app.Services.GetRequiredService<SoupStorage>().EnsureCreatedAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        return new LocalEngine(sidecar, app, channel);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        _app.Dispose();
        await _channel.ShutdownAsync();
        _channel.Dispose();
        await _sidecar.StopAsync();
        await _sidecar.DisposeAsync();
    }

    private static WebApplication BuildSidecar(AzureStorageOrchestrationService service, bool clientOnly, Action<ILoggingBuilder>? logging)
    {
        var builder = WebApplication.CreateSlimBuilder();
        ConfigureLogging(builder.Logging, logging);
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<IOrchestrationService>(new SubOrchestrationTagsFix(service));
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        builder.Services.Configure<TaskHubGrpcServerOptions>(o => o.Mode = clientOnly ? TaskHubGrpcServerMode.ApiServerOnly : TaskHubGrpcServerMode.ApiServerAndDispatcher);
        var sidecar = builder.Build();
        sidecar.MapGrpcService<TaskHubGrpcServer>();
        return sidecar;
    }

    private static void ConfigureLogging(ILoggingBuilder builder, Action<ILoggingBuilder>? logging)
    {
        builder.ClearProviders();
        builder.SetMinimumLevel(LogLevel.Warning);
        logging?.Invoke(builder);
    }
}
