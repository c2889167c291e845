using System.Collections.Concurrent;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Cli.Engine;

/// <summary>
/// The local stand-in for the Functions blob trigger: lists the checkpoints container and hands every blob it has not
/// seen (by name and ETag) to the same <see cref="CheckpointLandingHandler"/> the trigger calls.
/// </summary>
internal sealed partial class ContainerLandingWatcher(
    SoupStorage storage,
    CheckpointLandingHandler handler,
    DurableTaskClient client,
    LocalEngineOptions options,
    ILogger<ContainerLandingWatcher> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, bool> seen = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.LandingPollInterval);
        do
        {
            try
            {
                await ScanAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogScanFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        await foreach (var blob in storage.Checkpoints.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            var key = blob.Name + "|" + blob.Properties.ETag;
            if (seen.ContainsKey(key) || CheckpointLayout.Parse(blob.Name) is null)
            {
                continue;
            }

            await handler.HandleAsync(client, blob.Name, cancellationToken);
            seen[key] = true;
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Listing the checkpoints container failed; retrying")]
    private static partial void LogScanFailed(ILogger logger, Exception exception);
}
