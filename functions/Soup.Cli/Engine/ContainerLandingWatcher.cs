using System.Collections.Concurrent;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Cli.Engine;

/// <summary>
/// The local stand-in for the Functions blob trigger: lists the checkpoints container and hands every blob it has not
/// seen to the same <see cref="CheckpointLandingHandler"/> the trigger calls. Blobs of pipelines that are not running
/// are remembered and skipped.
/// </summary>
internal sealed partial class ContainerLandingWatcher(
    SoupStorage storage,
    CheckpointLandingHandler handler,
    DurableTaskClient client,
    LocalEngineOptions options,
    ILogger<ContainerLandingWatcher> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, bool> seen = new();
    private readonly Dictionary<string, bool> running = [];

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
        running.Clear();
        await foreach (var blob in storage.Checkpoints.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            var key = blob.Name + "|" + blob.Properties.ETag;
            if (seen.ContainsKey(key) || CheckpointLayout.Parse(blob.Name) is not { } landed)
            {
                continue;
            }

            if (!await IsRunningAsync(landed.PipelineId, cancellationToken))
            {
                seen[key] = true;
                continue;
            }

            await handler.HandleAsync(client, blob.Name, cancellationToken);
            seen[key] = true;
        }
    }

    private async Task<bool> IsRunningAsync(string pipelineId, CancellationToken cancellationToken)
    {
        if (!running.TryGetValue(pipelineId, out var isRunning))
        {
            var instance = await client.GetInstanceAsync(pipelineId, cancellationToken);
            isRunning = instance is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending };
            running[pipelineId] = isRunning;
        }

        return isRunning;
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Listing the checkpoints container failed; retrying")]
    private static partial void LogScanFailed(ILogger logger, Exception exception);
}
