using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Training;

// The GPU container worker: takes fine-tuning and evaluation jobs from the queue until stopped. One job per GPU when
// CUDA is present, else WorkerParallelism jobs on the CPU. On SIGTERM (container preemption) a running job saves a
// resumption checkpoint and its message is released; ShutdownTimeout bounds how long that may take. With IdleShutdown
// set (the Container Apps job), it exits once the queue has stayed empty that long.
// appsettings*.json are read from beside the executable, wherever it is started from (dotnet run from the repository
// root, the image's /app); appsettings.Development.json (Azurite) only with DOTNET_ENVIRONMENT=Development.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = builder.Configuration.GetValue("ShutdownTimeout", TimeSpan.FromSeconds(60)));
builder.Services.AddSoupJobs(builder.Configuration, DeviceSlots.Count(builder.Configuration.GetValue("WorkerParallelism", 1)));
using var host = builder.Build();
// Only what a worker uses: on Azure its identity may write the checkpoints container and the jobs queue, nothing else.
var storage = host.Services.GetRequiredService<SoupStorage>();
// Storage may be briefly unreachable at start too: retried like every call that would lose work.
await StorageRetry.Default.RunAsync(
    async c =>
    {
        // In Azure the deployment made them, and the worker's roles need not include creating them (403 tolerated).
        await SoupStorage.CreateIfAllowedAsync(storage.Checkpoints, c);
        await SoupStorage.CreateIfAllowedAsync(storage.Jobs, c);
        await SoupStorage.CreateIfAllowedAsync(storage.JobsPoison, c);
    },
    (ex, delay) => Console.Error.WriteLine($"Storage is unreachable ({ex.Message}); retrying in {delay}"),
    CancellationToken.None);
await host.RunAsync();
