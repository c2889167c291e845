using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Soup.Core.Storage;
using Soup.Orchestration.Activities;
using Soup.Orchestration.Retention;

namespace Soup.Orchestration;

/// <summary>Registers the pipeline's storage, activities and landing handler: the same set in every host.</summary>
public static class OrchestrationServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services the orchestration's activities and the landing handler need. The report activity also needs an
    /// <see cref="IPipelineReportRenderer"/>, which the host adds (<c>AddSoupReports</c> of Soup.Reports).
    /// </summary>
    public static IServiceCollection AddSoupPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PipelineOptions>().Bind(configuration).ValidateOnStart();
        services.AddOptions<MergeOptions>().Bind(configuration)
            .Validate(o => o.MergeMemoryBudgetMiB is >= 1 and <= MergeOptions.MaxMergeMemoryBudgetMiB,
                $"{nameof(MergeOptions.MergeMemoryBudgetMiB)} must be a whole number of MiB from 1 to {MergeOptions.MaxMergeMemoryBudgetMiB}")
            .ValidateOnStart();
        services.AddOptions<PipelineLimits>().Bind(configuration)
            .Validate(o => o.SettingsProblem() is null, "MaxPipelineTrainingSteps, MaxPipelineCheckpoints and MaxRunningPipelines must be positive")
            .ValidateOnStart();
        services.TryAddSingleton<SoupStorage>();
        services.TryAddSingleton<ISpecStore, BlobSpecStore>();
        services.AddSingleton<LandingReader>();
        services.AddSingleton<JobProgressReader>();
        services.AddSingleton<CheckpointLandingHandler>();
        services.AddSingleton<ScheduledRetrainer>();
        services.AddOptions<RetentionOptions>().Bind(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PipelineRetention>();
        services.AddTransient<DispatchJobsActivity>();
        services.AddTransient<MergeCheckpointsActivity>();
        services.AddTransient<SummarizeRoundActivity>();
        services.AddTransient<ReconcileLandingsActivity>();
        services.AddTransient<WriteReportActivity>();
        services.AddTransient<StopJobsActivity>();
        return services;
    }

    /// <summary>Registers the orchestrations and activities with a Durable Task worker under their <see cref="TaskNames"/>.</summary>
    public static DurableTaskRegistry AddSoupPipelineTasks(this DurableTaskRegistry registry) => registry
        .AddOrchestrator(TaskNames.Pipeline, typeof(PipelineOrchestrator))
        .AddOrchestrator(TaskNames.Round, typeof(RoundOrchestrator))
        .AddOrchestrator(TaskNames.ScheduledPipeline, typeof(ScheduledPipelineOrchestrator))
        .AddActivity(TaskNames.DispatchJobs, typeof(DispatchJobsActivity))
        .AddActivity(TaskNames.MergeCheckpoints, typeof(MergeCheckpointsActivity))
        .AddActivity(TaskNames.SummarizeRound, typeof(SummarizeRoundActivity))
        .AddActivity(TaskNames.ReconcileLandings, typeof(ReconcileLandingsActivity))
        .AddActivity(TaskNames.WriteReport, typeof(WriteReportActivity))
        .AddActivity(TaskNames.StopJobs, typeof(StopJobsActivity));
}
