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
/// Takes jobs from the jobs queue; no message, and no storage error, ends the worker. Every message has one outcome:
/// <list type="bullet">
/// <item>not a job (not base64, not JSON, no <c>kind</c>, no valid slot): moved to the poison queue with the reason;</item>
/// <item>a job of a cancelled pipeline, a job already done, or a second copy of a job that another worker is running
/// (its heartbeat is fresh): deleted, nothing written;</item>
/// <item>a job delivered more than <see cref="WorkerOptions.MaxDeliveries"/> times without an outcome: recorded as
/// failed (a poison job);</item>
/// <item>otherwise run, invisible to other workers while its lease is renewed, with a heartbeat in its
/// <c>progress.json</c>; its output or failure record is written and the message deleted. A transient error hands it
/// back for a retry; a shutdown (SIGTERM: preemption, scale-in) saves a resumption checkpoint and re-queues it as a
/// fresh message that does not count the preempted delivery; a lost lease is logged and the job finishes anyway.</item>
/// </list>
/// Storage calls whose failure would lose work are retried through an outage (<see cref="WorkerOptions.StorageRetryLimit"/>);
/// a message whose handling still fails is left to reappear, and the loop backs off and goes on.
/// With <see cref="WorkerOptions.IdleShutdown"/> set, the worker stops the host once the queue has been empty that long.
/// </summary>
public sealed partial class QueueJobService(
    SoupStorage storage,
    JobRunner runner,
    IOptions<WorkerOptions> options,
    ILogger<QueueJobService> logger,
    int parallelism = 1,
    IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    /// <summary>How long a shutdown may spend re-queueing its job before leaving it to reappear by itself.</summary>
    private static readonly TimeSpan ShutdownStorageLimit = TimeSpan.FromSeconds(20);

    private readonly PipelineCancellationCheck _cancellation = new(storage);

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
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = (await storage.Jobs.ReceiveMessagesAsync(1, o.JobVisibilityTimeout, stoppingToken)).Value;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                var delay = o.StorageRetry.Delay(++failures);
                LogQueueUnavailable(logger, delay, ex);
                await Task.Delay(delay, stoppingToken);
                continue;
            }

            if (messages.Length == 0)
            {
                failures = 0;
                if (o.IdleShutdown > TimeSpan.Zero && idle.Elapsed >= o.IdleShutdown)
                {
                    return;
                }

                await Task.Delay(o.QueuePollInterval, stoppingToken);
                continue;
            }

            try
            {
                await HandleAsync(messages[0], stoppingToken);
                failures = 0;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The message stays on the queue and reappears; this worker backs off and goes on serving.
                var delay = o.StorageRetry.Delay(++failures);
                LogHandlingFailed(logger, messages[0].MessageId, delay, ex);
                await Task.Delay(delay, stoppingToken);
            }

            idle.Restart();
        }
    }

    /// <summary>Handles one delivered message (public for tests of redelivery and poison handling).</summary>
    public async Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var o = options.Value;
        if (!TryParse(message, out var job, out var problem))
        {
            LogPoisoned(logger, message.MessageId, problem);
            var poison = PoisonMessage.Of(message.MessageId, problem, message.DequeueCount, message.Body?.ToString() ?? "", o.WorkerName, DateTimeOffset.UtcNow);
            await RetryAsync(c => storage.SendPoisonAsync(poison, c), "poison queue", message.MessageId, cancellationToken);
            await DeleteAsync(message, cancellationToken);
            return;
        }

        if (await RetryAsync(c => _cancellation.IsCancelledAsync(job, c), "cancellation check", job.JobId, cancellationToken))
        {
            LogJobCancelled(logger, job.JobId);
            await DeleteAsync(message, cancellationToken);
            return;
        }

        if (job is JobReference reference)
        {
            // A job too large for a message: read it from its blob.
            var (resolved, why) = await RetryAsync(c => storage.ResolveJobAsync(reference, c), "job blob", job.JobId, cancellationToken);
            if (resolved is null)
            {
                LogPoisoned(logger, message.MessageId, why);
                var poison = PoisonMessage.Of(message.MessageId, why, message.DequeueCount, message.Body?.ToString() ?? "", o.WorkerName, DateTimeOffset.UtcNow);
                await RetryAsync(c => storage.SendPoisonAsync(poison, c), "poison queue", message.MessageId, cancellationToken);
                await DeleteAsync(message, cancellationToken);
                return;
            }

            job = resolved with { PriorDeliveries = reference.PriorDeliveries };
        }

        var deliveries = job.PriorDeliveries + (int)message.DequeueCount;
        if (deliveries > o.MaxDeliveries)
        {
            await runner.RecordFailureAsync(
                job, $"the job was delivered {deliveries} times without finishing; the worker crashed or timed out each time", cancellationToken);
            await DeleteAsync(message, cancellationToken);
            return;
        }

        if (await runner.IsDoneAsync(job, cancellationToken))
        {
            LogAlreadyDone(logger, job.JobId);
            await DeleteAsync(message, cancellationToken);
            return;
        }

        var (claimed, alive) = await RetryAsync(
            c => JobHeartbeat.ClaimAsync(storage, job, message.MessageId, o.WorkerName, o.HeartbeatInterval, job.HeartbeatTimeout ?? o.HeartbeatTimeout, logger, c),
            "heartbeat claim",
            job.JobId,
            cancellationToken);
        if (claimed is null)
        {
            // A re-dispatch while the first copy still runs: training twice would only burn a second GPU.
            LogDuplicate(logger, job.JobId, alive?.Worker ?? "?", alive?.Step ?? 0, alive?.TotalSteps ?? 0);
            await DeleteAsync(message, cancellationToken);
            return;
        }

        await using var heartbeat = claimed;
        using var lease = new MessageLease(storage.Jobs, message, o.JobVisibilityTimeout, o.StorageRetry, logger);
        using var dropped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopWatching = new CancellationTokenSource();
        var watch = _cancellation.WatchAsync(job, dropped, o.CancellationCheckInterval, stopWatching.Token);
        try
        {
            await runner.RunAsync(job, heartbeat, dropped.Token);
        }
        catch (JobFailedException ex)
        {
            LogJobFailed(logger, job.JobId, ex.Message);
            await runner.RecordFailureAsync(job, ex.Message, CancellationToken.None);
        }
        catch (Azure.RequestFailedException ex) when (!StorageRetry.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            // Storage refused the job's request (400 a bad name, 403 no permission, 404 gone): delivering the job again
            // would be refused again. The record says what was refused; the whole response goes to the log only.
            var logReference = StorageError.NewReference();
            LogStorageRefused(logger, job.JobId, logReference, ex);
            await runner.RecordFailureAsync(
                job, $"storage answered {StorageError.Summary(ex)}; the job is not retried (worker {o.WorkerName}, log reference {logReference})", CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown (SIGTERM, preemption, scale-in): the runner saved a resumption checkpoint; hand the job back at
            // once as a fresh message so another worker resumes it, without counting this delivery as a failed one.
            LogJobReleased(logger, job.JobId);
            await heartbeat.ReleaseAsync();
            await RequeueAsync(job with { PriorDeliveries = deliveries - 1 }, lease);
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
            // Transient or unknown: leave the message to reappear shortly and be retried (this delivery counts).
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

    /// <summary>Reads a job from a message; false with the problem when it is not one this worker can ever handle.</summary>
    private static bool TryParse(QueueMessage message, out Job job, out string problem)
    {
        job = null!;
        Job? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize((message.Body ?? BinaryData.Empty).ToMemory().Span, SoupJson.Default.Job);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // NotSupportedException: no "kind", so the abstract Job cannot be made.
            problem = $"the message is not a job (JSON with \"kind\": \"train\" or \"evaluate\"): {ex.Message}";
            return false;
        }

        if (parsed is null)
        {
            problem = "the message is JSON null, not a job";
            return false;
        }

        if (string.IsNullOrWhiteSpace(parsed.PipelineId) || string.IsNullOrWhiteSpace(parsed.Slot)
            || parsed.PipelineId.Contains('/', StringComparison.Ordinal)
            || parsed.Slot.Split('/').Any(part => part is "" or "." or ".." || part.Any(c => char.IsControl(c) || c == '\\'))
            || CheckpointLayout.Parse(CheckpointLayout.Blob(parsed.PipelineId, parsed.Slot, CheckpointLayout.FailureFile)) is not { } landed
            || landed.PipelineId != parsed.PipelineId || landed.Slot != parsed.Slot)
        {
            problem = $"the job's pipeline id '{parsed.PipelineId}' and slot '{parsed.Slot}' name no job folder, so no outcome could be recorded";
            return false;
        }

        job = parsed;
        problem = "";
        return true;
    }

    /// <summary>Puts the job back as a new message, then deletes the delivered one (a crash between the two leaves a
    /// duplicate, which the heartbeat check or the output check drops).</summary>
    private async Task RequeueAsync(Job job, MessageLease lease)
    {
        if (lease.Lost)
            return; // another worker holds it now
        var quick = options.Value.StorageRetry with { Limit = ShutdownStorageLimit };
        try
        {
            await quick.RunAsync(c => storage.SendJobAsync(job, c), null, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Could not re-queue in time: make the original visible instead (this delivery then counts).
            LogRequeueFailed(logger, job.JobId, ex);
            await lease.ReleaseAsync(TimeSpan.Zero);
            return;
        }

        await lease.CompleteAsync();
    }

    private Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken) =>
        RetryAsync(
            async c =>
            {
                try
                {
                    await storage.Jobs.DeleteMessageAsync(message.MessageId, message.PopReceipt, c);
                }
                catch (Azure.RequestFailedException ex) when (ex.Status is 404 or 400)
                {
                    LogAlreadyGone(logger, message.MessageId); // deleted meanwhile, or another worker has it now
                }

                return true;
            },
            "delete",
            message.MessageId,
            cancellationToken);

    private Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> call, string what, string subject, CancellationToken cancellationToken) =>
        options.Value.StorageRetry.RunAsync(call, (ex, delay) => LogStorageRetry(logger, subject, what, delay, ex), cancellationToken);

    private Task RetryAsync(Func<CancellationToken, Task> call, string what, string subject, CancellationToken cancellationToken) =>
        options.Value.StorageRetry.RunAsync(call, (ex, delay) => LogStorageRetry(logger, subject, what, delay, ex), cancellationToken);

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "The jobs queue is unavailable; retrying in {Delay}")]
    private static partial void LogQueueUnavailable(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 411, Level = LogLevel.Error, Message = "Message {MessageId} is not a job; moved to the poison queue: {Problem}")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string problem);

    [LoggerMessage(EventId = 412, Level = LogLevel.Warning, Message = "Job {JobId} failed for good: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 428, Level = LogLevel.Error, Message = "Job {JobId} failed for good: storage refused a request (log reference {Reference})")]
    private static partial void LogStorageRefused(ILogger logger, string jobId, string reference, Exception exception);

    [LoggerMessage(EventId = 413, Level = LogLevel.Warning, Message = "Job {JobId} hit an error and will be retried")]
    private static partial void LogJobRetry(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 414, Level = LogLevel.Information, Message = "Job {JobId} stopped by shutdown; re-queued for another worker to resume it")]
    private static partial void LogJobReleased(ILogger logger, string jobId);

    [LoggerMessage(EventId = 415, Level = LogLevel.Information, Message = "Job {JobId} dropped: its pipeline was cancelled")]
    private static partial void LogJobCancelled(ILogger logger, string jobId);

    [LoggerMessage(EventId = 416, Level = LogLevel.Information, Message = "The jobs queue was empty for {IdleShutdown}; the worker stops")]
    private static partial void LogIdleShutdown(ILogger logger, TimeSpan idleShutdown);

    [LoggerMessage(EventId = 417, Level = LogLevel.Information, Message = "Job {JobId} is running elsewhere (worker {Worker}, step {Step} of {TotalSteps}, fresh heartbeat); this copy is dropped")]
    private static partial void LogDuplicate(ILogger logger, string jobId, string worker, int step, int totalSteps);

    [LoggerMessage(EventId = 418, Level = LogLevel.Information, Message = "Job {JobId} already has its output; its message is deleted")]
    private static partial void LogAlreadyDone(ILogger logger, string jobId);

    [LoggerMessage(EventId = 419, Level = LogLevel.Warning, Message = "Message {MessageId}: handling failed; it stays on the queue, the worker backs off {Delay}")]
    private static partial void LogHandlingFailed(ILogger logger, string messageId, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 425, Level = LogLevel.Warning, Message = "{Subject}: storage call ({What}) failed; retrying in {Delay}")]
    private static partial void LogStorageRetry(ILogger logger, string subject, string what, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 426, Level = LogLevel.Warning, Message = "Job {JobId} could not be re-queued at shutdown; its message is made visible instead")]
    private static partial void LogRequeueFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 427, Level = LogLevel.Information, Message = "Message {MessageId} was already gone when deleted")]
    private static partial void LogAlreadyGone(ILogger logger, string messageId);
}
