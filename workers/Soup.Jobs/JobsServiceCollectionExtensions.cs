using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;
using Soup.Core.Jobs;

namespace Soup.Jobs;

/// <summary>Registers a job worker: the same in the worker container and inside the local engine.</summary>
public static class JobsServiceCollectionExtensions
{
    /// <summary>Adds the queue consumer running <paramref name="parallelism"/> jobs at a time.</summary>
    public static IServiceCollection AddSoupJobs(this IServiceCollection services, IConfiguration configuration, int parallelism = 1)
    {
        services.AddOptions<PipelineOptions>().Bind(configuration);
        services.AddOptions<WorkerOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddSingleton<SoupStorage>();
        services.AddSingleton<DatasetResolver>();
        services.AddSingleton<JobRunner>();
        services.AddHostedService(sp => new QueueJobService(
            sp.GetRequiredService<SoupStorage>(),
            sp.GetRequiredService<JobRunner>(),
            sp.GetRequiredService<IOptions<WorkerOptions>>(),
            sp.GetRequiredService<ILogger<QueueJobService>>(),
            parallelism,
            sp.GetService<IHostApplicationLifetime>()));
        return services;
    }
}
