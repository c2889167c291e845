using Microsoft.DurableTask;
using Soup.Core.Specs;

namespace Soup.Orchestration;

/// <summary>
/// The retry policy every activity call of the orchestrations passes (<see cref="PipelineSpec.Retry"/>, or its
/// defaults): bounded exponential backoff, so one transient failure (storage unreachable for a moment, a host
/// recycled) does not fail a pipeline that may have run for days. A <see cref="PipelineFailedException"/> is an
/// answer, not a fault, and is not retried. Every activity is safe to repeat: dispatching a job twice trains it once
/// (the worker's claim on its heartbeat and the conditional write of its output), a merge rewrites the same soup, the
/// reads and the report are idempotent.
/// </summary>
internal static class ActivityRetry
{
    /// <summary>The options of an activity call under <paramref name="spec"/>.</summary>
    public static TaskOptions Options(RetrySpec? spec)
    {
        var r = spec ?? new RetrySpec();
        return TaskOptions.FromRetryPolicy(new RetryPolicy(r.MaxAttempts, r.FirstInterval, backoffCoefficient: 2, maxRetryInterval: r.MaxInterval)
        {
            HandleFailure = failure => !failure.IsCausedBy<PipelineFailedException>(),
        });
    }
}
