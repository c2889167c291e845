using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Functions;

/// <summary>
/// Scheduled retraining (a first, thin version): on the <c>RetrainSchedule</c> CRON, starts one pipeline for each
/// valid spec stored in the specs container. Invalid specs are logged with their problems and skipped.
/// </summary>
public sealed partial class RetrainTimerFunction(SoupStorage storage, ILogger<RetrainTimerFunction> logger)
{
    /// <summary>Runs on the schedule.</summary>
    [Function("ScheduledRetrain")]
    public async Task Run([TimerTrigger("%RetrainSchedule%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        _ = timer;
        await foreach (var blob in storage.Specs.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            if (!blob.Name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var text = await storage.Specs.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken);
            var parsed = SpecParser.Parse(text.Value.Content.ToString());
            if (!parsed.IsValid)
            {
                LogInvalidSpec(logger, blob.Name, string.Join("; ", parsed.Problems));
                continue;
            }

            var id = await PipelineStarter.StartAsync(client, parsed.Spec!, cancellationToken: cancellationToken);
            LogStarted(logger, blob.Name, id);
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Scheduled spec {Spec} is invalid and was skipped: {Problems}")]
    private static partial void LogInvalidSpec(ILogger logger, string spec, string problems);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Scheduled spec {Spec} started pipeline {PipelineId}")]
    private static partial void LogStarted(ILogger logger, string spec, string pipelineId);
}
