using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using Soup.Orchestration.Retention;

namespace Soup.Functions;

/// <summary>
/// Retention: on the <c>RetentionSchedule</c> CRON, deletes the expired checkpoints of ended pipelines and purges their
/// ended instances (<see cref="PipelineRetention"/>, with <c>RetentionMemberDays</c> and <c>RetentionInstanceDays</c>).
/// Switch it off with <c>AzureWebJobs.ApplyRetention.Disabled</c>. An invalid policy fails the invocation with the
/// reason, before anything is deleted; the rest of the app runs on.
/// </summary>
public sealed class RetentionTimerFunction(PipelineRetention retention, IOptions<RetentionOptions> options)
{
    /// <summary>Runs on the schedule.</summary>
    [Function("ApplyRetention")]
    public async Task Run([TimerTrigger("%RetentionSchedule%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        _ = timer;
        // The service logs what it did; errors of single pipelines are in its log and do not stop the others.
        await retention.ApplyAsync(client, RetentionPolicy.From(options.Value), dryRun: false, cancellationToken);
    }
}
