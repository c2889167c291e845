using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Soup.Jobs;

/// <summary>Keeps a received message invisible while its job runs, renewing at half the visibility timeout.</summary>
internal sealed class MessageLease : IDisposable
{
    private readonly QueueClient queue;
    private readonly string messageId;
    private readonly CancellationTokenSource stop = new();
    private readonly Task renewal;
    private string popReceipt;

    public MessageLease(QueueClient queue, QueueMessage message, TimeSpan visibility)
    {
        this.queue = queue;
        messageId = message.MessageId;
        popReceipt = message.PopReceipt;
        renewal = RenewAsync(visibility);
    }

    /// <summary>The job finished: delete the message.</summary>
    public async Task CompleteAsync()
    {
        await StopAsync();
        await queue.DeleteMessageAsync(messageId, popReceipt);
    }

    /// <summary>The job should be retried: make the message visible again after <paramref name="delay"/>.</summary>
    public async Task ReleaseAsync(TimeSpan delay)
    {
        await StopAsync();
        await queue.UpdateMessageAsync(messageId, popReceipt, visibilityTimeout: delay);
    }

    public void Dispose() => stop.Cancel();

    private async Task StopAsync()
    {
        await stop.CancelAsync();
        try
        {
            await renewal;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RenewAsync(TimeSpan visibility)
    {
        using var timer = new PeriodicTimer(visibility / 2);
        while (await timer.WaitForNextTickAsync(stop.Token))
        {
            var receipt = await queue.UpdateMessageAsync(messageId, popReceipt, visibilityTimeout: visibility, cancellationToken: stop.Token);
            popReceipt = receipt.Value.PopReceipt;
        }
    }
}
