using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Orchestration.Retention;

namespace Soup.Local;

/// <summary>
/// The local engine's counterpart of the Functions app's retention timer: every <c>RetentionInterval</c> (when set), the
/// engine applies retention to its task hub and checkpoints container, starting one interval after it started. A run
/// that fails is logged and the next one tries again.
/// </summary>
internal sealed partial class RetentionLoop(
    PipelineRetention retention, DurableTaskClient client, IOptions<RetentionOptions> options, LocalEngineOptions engine, TimeProvider clock, ILogger<RetentionLoop> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(engine.RetentionInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await retention.ApplyAsync(client, RetentionPolicy.From(options.Value), dryRun: false, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Error, Message = "Retention run failed; the next one tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
