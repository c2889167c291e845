using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;

namespace Soup.Jobs;

/// <summary>
/// Keeps a received message invisible while its job runs, renewing at half the visibility timeout. A renewal that
/// fails for a transient reason is tried again every few seconds until the visibility would lapse; one that the queue
/// answers with 404 or 400 (the message was deleted, or another worker took it after it reappeared) means the lease is
/// <see cref="Lost"/>: the job goes on (its output is written idempotently) and completing or releasing it is a no-op.
/// </summary>
internal sealed partial class MessageLease : IDisposable
{
    private static readonly TimeSpan RenewalRetry = TimeSpan.FromSeconds(2);
    private readonly QueueClient _queue;
    private readonly string _messageId;
    private readonly ILogger _logger;
    private readonly StorageRetry _retry;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;
    private string _popReceipt;
    private volatile bool _lost;

    public MessageLease(QueueClient queue, QueueMessage message, TimeSpan visibility, StorageRetry retry, ILogger logger)
    {
        this._queue = queue;
        this._logger = logger;
        this._retry = retry;
        _messageId = message.MessageId;
        _popReceipt = message.PopReceipt;
        _renewal = RenewAsync(visibility);
    }

    /// <summary>True once the queue said the message is no longer ours.</summary>
    public bool Lost => _lost;

    /// <summary>The job finished: delete the message (retried through a storage outage).</summary>
    public async Task CompleteAsync()
    {
        await StopAsync();
        await IfHeldAsync("delete", c => _queue.DeleteMessageAsync(_messageId, _popReceipt, c));
    }

    /// <summary>The job should be retried: make the message visible again after <paramref name="delay"/>.</summary>
    public async Task ReleaseAsync(TimeSpan delay)
    {
        await StopAsync();
        await IfHeldAsync("release", c => _queue.UpdateMessageAsync(_messageId, _popReceipt, visibilityTimeout: delay, cancellationToken: c));
    }

    public void Dispose() => _stop.Cancel();

    private async Task IfHeldAsync(string what, Func<CancellationToken, Task> call)
    {
        if (_lost)
        {
            LogLostSkip(_logger, _messageId, what);
            return;
        }

        try
        {
            await _retry.RunAsync(call, (ex, delay) => LogRetry(_logger, _messageId, what, delay, ex), CancellationToken.None);
        }
        catch (RequestFailedException ex) when (IsGone(ex))
        {
            _lost = true;
            LogLost(_logger, _messageId, ex.Status, ex.ErrorCode ?? "");
        }
    }

    private async Task StopAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _renewal;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static bool IsGone(RequestFailedException ex) => ex.Status is 404 or 400;

    private async Task RenewAsync(TimeSpan visibility)
    {
        var renewed = DateTimeOffset.UtcNow;
        var wait = visibility / 2;
        while (!_lost)
        {
            await Task.Delay(wait, _stop.Token);
            try
            {
                var receipt = await _queue.UpdateMessageAsync(_messageId, _popReceipt, visibilityTimeout: visibility, cancellationToken: _stop.Token);
                _popReceipt = receipt.Value.PopReceipt;
                renewed = DateTimeOffset.UtcNow;
                wait = visibility / 2;
            }
            catch (RequestFailedException ex) when (IsGone(ex))
            {
                _lost = true;
                LogLost(_logger, _messageId, ex.Status, ex.ErrorCode ?? "");
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                // An outage: try again soon, while the message is still invisible. Once it lapsed, another worker may
                // take it; the renewal that then fails with 404/400 marks the lease lost.
                LogRenewalFailed(_logger, _messageId, DateTimeOffset.UtcNow - renewed, ex);
                wait = RenewalRetry;
            }
        }
    }

    [LoggerMessage(EventId = 430, Level = LogLevel.Warning, Message = "Message {MessageId}: the lease is lost (status {Status} {ErrorCode}): the message was deleted or another worker took it; the job goes on and writes its output idempotently")]
    private static partial void LogLost(ILogger logger, string messageId, int status, string errorCode);

    [LoggerMessage(EventId = 431, Level = LogLevel.Warning, Message = "Message {MessageId}: lease renewal failed {Since} after the last renewal; retrying")]
    private static partial void LogRenewalFailed(ILogger logger, string messageId, TimeSpan since, Exception exception);

    [LoggerMessage(EventId = 432, Level = LogLevel.Information, Message = "Message {MessageId}: the lease was lost earlier; {What} skipped")]
    private static partial void LogLostSkip(ILogger logger, string messageId, string what);

    [LoggerMessage(EventId = 433, Level = LogLevel.Warning, Message = "Message {MessageId}: {What} failed; retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, string messageId, string what, TimeSpan delay, Exception exception);
}
