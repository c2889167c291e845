using System.Net.Sockets;
using Azure;

namespace Soup.Core.Storage;

/// <summary>
/// Retries a storage call through an outage: exponential backoff from <see cref="First"/> doubling to <see cref="Max"/>,
/// for at most <see cref="Limit"/> in all. The SDK's own retries (a few seconds) end long before a storage blip does;
/// this is the next layer, for the calls whose failure would lose work (a job's output, its failure record, its
/// message). Only transient errors are retried (<see cref="IsTransient"/>): a 404, 409 or 412 is an answer, not an
/// outage.
/// </summary>
/// <param name="First">The first wait.</param>
/// <param name="Max">The longest wait between two tries.</param>
/// <param name="Limit">How long to keep trying before the last error is thrown.</param>
public sealed record StorageRetry(TimeSpan First, TimeSpan Max, TimeSpan Limit)
{
    /// <summary>1 s doubling to 30 s, for up to 10 minutes: long enough for a storage account's failover or a restart.</summary>
    public static StorageRetry Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10));

    /// <summary>
    /// True for the errors of an unreachable or overloaded service: the SDK's "retry failed" aggregate of transport
    /// errors, status 0 (no answer), 408, 429 and 5xx, socket and I/O errors, and timeouts that are not a cancellation.
    /// </summary>
    public static bool IsTransient(Exception exception, CancellationToken cancellationToken = default) => exception switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(e => IsTransient(e, cancellationToken)),
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // an HTTP timeout, not ours
        _ => false,
    };

    /// <summary>The wait before try number <paramref name="attempt"/> + 1 (attempt counts from 1).</summary>
    public TimeSpan Delay(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 30));
        var delay = First * factor;
        return delay < Max ? delay : Max;
    }

    /// <summary>Runs <paramref name="call"/>, retrying transient errors; <paramref name="onRetry"/> hears each.</summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, Action<Exception, TimeSpan>? onRetry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call(cancellationToken);
            }
            catch (Exception ex) when (IsTransient(ex, cancellationToken) && started.Elapsed + Delay(attempt) <= Limit)
            {
                var delay = Delay(attempt);
                onRetry?.Invoke(ex, delay);
                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    /// <summary>Runs <paramref name="call"/>, retrying transient errors.</summary>
    public Task RunAsync(Func<CancellationToken, Task> call, Action<Exception, TimeSpan>? onRetry, CancellationToken cancellationToken) =>
        RunAsync<bool>(
            async c =>
            {
                await call(c);
                return true;
            },
            onRetry,
            cancellationToken);
}
