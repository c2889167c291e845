using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Training;

namespace Soup.Jobs;

/// <summary>
/// Takes jobs from the jobs queue. A job stays invisible to other workers while it runs (its lease is renewed); it is
/// deleted once its output or its failure record is written. A worker that crashes leaves the message to reappear and
/// be retried; a job delivered more than <see cref="WorkerOptions.MaxDeliveries"/> times is recorded as failed. On
/// shutdown (SIGTERM) a running job saves a resumption checkpoint and its message is made visible again at once. A job
/// of a cancelled pipeline (one with a cancellation marker) is dropped: before it runs, and while it runs (checked every
/// five queue poll intervals), its message is deleted and no output or failure record is written. With
/// <see cref="WorkerOptions.IdleShutdown"/> set, the worker stops the host once the queue has been empty that long.
/// </summary>
public sealed partial class QueueJobService(
    SoupStorage storage,
    JobRunner runner,
    IOptions<WorkerOptions> options,
    ILogger<QueueJobService> logger,
    int parallelism = 1,
    IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    private readonly PipelineCancellationCheck cancellation = new(storage);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, parallelism)).Select(slot => Task.Run(() => LoopAsync(slot, stoppingToken), stoppingToken)));
        if (!stoppingToken.IsCancellationRequested)
        {
            // Every slot found the queue empty for IdleShutdown: end the process (a job execution completes).
            LogIdleShutdown(logger, options.Value.IdleShutdown);
            lifetime?.StopApplication();
        }
    }

    private async Task LoopAsync(int slot, CancellationToken stoppingToken)
    {
        using var device = DeviceSlots.Use(slot);
        var o = options.Value;
        var idle = System.Diagnostics.Stopwatch.StartNew();
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = (await storage.Jobs.ReceiveMessagesAsync(1, o.JobVisibilityTimeout, stoppingToken)).Value;
            }
            catch (Azure.RequestFailedException ex)
            {
                LogQueueUnavailable(logger, ex);
                await Task.Delay(o.QueuePollInterval * 5, stoppingToken);
                continue;
            }

            if (messages.Length == 0)
            {
                if (o.IdleShutdown > TimeSpan.Zero && idle.Elapsed >= o.IdleShutdown)
                {
                    return;
                }

                await Task.Delay(o.QueuePollInterval, stoppingToken);
                continue;
            }

            await HandleAsync(messages[0], stoppingToken);
            idle.Restart();
        }
    }

    /// <summary>Handles one delivered message (public for tests of redelivery and poison handling).</summary>
    public async Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        Job? job;
        try
        {
            job = JsonSerializer.Deserialize(message.Body.ToMemory().Span, SoupJson.Default.Job);
        }
        catch (JsonException ex)
        {
            LogMalformed(logger, message.MessageId, ex);
            job = null;
        }

        if (job is null)
        {
            await storage.Jobs.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            return;
        }

        if (await cancellation.IsCancelledAsync(job.PipelineId, cancellationToken))
        {
            LogJobCancelled(logger, job.JobId);
            await storage.Jobs.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            return;
        }

        if (message.DequeueCount > options.Value.MaxDeliveries)
        {
            await runner.RecordFailureAsync(
                job, $"the job was delivered {message.DequeueCount} times without finishing; the worker crashed or timed out each time", cancellationToken);
            await storage.Jobs.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            return;
        }

        using var lease = new MessageLease(storage.Jobs, message, options.Value.JobVisibilityTimeout);
        using var dropped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopWatching = new CancellationTokenSource();
        var watch = cancellation.WatchAsync(job.PipelineId, dropped, options.Value.QueuePollInterval * 5, stopWatching.Token);
        try
        {
            await runner.RunAsync(job, dropped.Token);
        }
        catch (JobFailedException ex)
        {
            LogJobFailed(logger, job.JobId, ex.Message);
            await runner.RecordFailureAsync(job, ex.Message, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown (SIGTERM, preemption): the runner saved a resumption checkpoint; hand the job back at once so
            // another worker resumes it, and let the host exit.
            LogJobReleased(logger, job.JobId);
            await lease.ReleaseAsync(TimeSpan.Zero);
            return;
        }
        catch (OperationCanceledException) when (dropped.IsCancellationRequested)
        {
            // The pipeline was cancelled while the job ran: drop it.
            LogJobCancelled(logger, job.JobId);
            await lease.CompleteAsync();
            return;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Transient or unknown: leave the message to reappear shortly and be retried.
            LogJobRetry(logger, job.JobId, ex);
            await lease.ReleaseAsync(TimeSpan.FromSeconds(5));
            return;
        }
        finally
        {
            await stopWatching.CancelAsync();
            await watch;
        }

        await lease.CompleteAsync();
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "The jobs queue is unavailable; retrying")]
    private static partial void LogQueueUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 411, Level = LogLevel.Error, Message = "Message {MessageId} is not a job and was dropped")]
    private static partial void LogMalformed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(EventId = 412, Level = LogLevel.Warning, Message = "Job {JobId} failed for good: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 414, Level = LogLevel.Information, Message = "Job {JobId} stopped by shutdown; its message is released for another worker to resume it")]
    private static partial void LogJobReleased(ILogger logger, string jobId);

    [LoggerMessage(EventId = 415, Level = LogLevel.Information, Message = "Job {JobId} dropped: its pipeline was cancelled")]
    private static partial void LogJobCancelled(ILogger logger, string jobId);

    [LoggerMessage(EventId = 416, Level = LogLevel.Information, Message = "The jobs queue was empty for {IdleShutdown}; the worker stops")]
    private static partial void LogIdleShutdown(ILogger logger, TimeSpan idleShutdown);

    [LoggerMessage(EventId = 413, Level = LogLevel.Warning, Message = "Job {JobId} hit an error and will be retried")]
    private static partial void LogJobRetry(ILogger logger, string jobId, Exception exception);
}
