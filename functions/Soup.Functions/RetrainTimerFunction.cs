using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Soup.Orchestration;

namespace Soup.Functions;

/// <summary>
/// Scheduled retraining: on the <c>RetrainSchedule</c> CRON, starts one run for each valid spec stored in the specs
/// container, at most one running per spec (<see cref="ScheduledRetrainer"/>: a fixed instance id per spec blob, started
/// with dedupe). Invalid specs are logged with their problems and skipped.
/// </summary>
public sealed class RetrainTimerFunction(ScheduledRetrainer retrainer)
{
    /// <summary>Runs on the schedule.</summary>
    [Function("ScheduledRetrain")]
    public Task Run([TimerTrigger("%RetrainSchedule%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        _ = timer;
        return retrainer.StartAllAsync(client, cancellationToken);
    }
}
