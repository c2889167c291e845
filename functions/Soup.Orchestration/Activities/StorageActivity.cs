using Azure;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// An activity that works on storage. A storage error leaves it as a short reason with a reference to the log entry that
/// holds the whole response (request id, headers), never as the raw response: the pipeline's failure text, which the API
/// shows, stays readable and carries nothing of the service's internals. A permanent error (400 a bad name, 403 no
/// access, 404 nothing there, ...) fails the pipeline with that reason, unretried; a transient one (no answer, 408, 429,
/// 5xx) is retried by the activity's retry policy (<see cref="ActivityRetry"/>). A stage the spec cannot plan
/// (<see cref="PlanningException"/>) fails the pipeline with its message, unretried: no retry changes the spec.
/// </summary>
public abstract class StorageActivity<TInput, TOutput>(ILogger logger) : TaskActivity<TInput, TOutput>
{
    /// <inheritdoc />
    public sealed override async Task<TOutput> RunAsync(TaskActivityContext context, TInput input)
    {
        try
        {
            return await RunCoreAsync(context, input);
        }
        catch (PlanningException ex)
        {
            throw new PipelineFailedException(ex.Message);
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageRetry.IsTransient(ex))
        {
            // A context is absent only when a test calls the activity directly: the class names it then.
            throw StorageFailure.Describe(ex, context?.Name.Name ?? GetType().Name.Replace("Activity", "", StringComparison.Ordinal), context?.InstanceId ?? "", logger);
        }
    }

    /// <summary>The activity's work.</summary>
    protected abstract Task<TOutput> RunCoreAsync(TaskActivityContext context, TInput input);
}

/// <summary>What a storage error becomes when it leaves an activity (<see cref="StorageActivity{TInput, TOutput}"/>).</summary>
public static partial class StorageFailure
{
    /// <summary>
    /// Logs <paramref name="error"/> whole under a fresh reference and returns what the orchestration sees: a
    /// <see cref="PipelineFailedException"/> for a permanent error, a <see cref="StorageUnavailableException"/> (retried)
    /// for a transient one; both a one-line reason naming the status, the error code and the reference.
    /// </summary>
    public static Exception Describe(Exception error, string activity, string instanceId, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(error);
        var reference = StorageError.NewReference();
        LogStorageError(logger, reference, activity, instanceId, error);
        if (error is RequestFailedException permanent && !StorageRetry.IsTransient(permanent))
        {
            return new PipelineFailedException(
                $"{activity}: storage answered {StorageError.Summary(permanent)}; not retried (log reference {reference})");
        }

        var what = error is RequestFailedException r ? StorageError.Summary(r) : error.GetType().Name;
        return new StorageUnavailableException($"{activity}: storage unavailable ({what}); retried (log reference {reference})");
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Storage error {Reference} in activity {Activity} of {InstanceId}")]
    private static partial void LogStorageError(ILogger logger, string reference, string activity, string instanceId, Exception exception);
}

/// <summary>Storage did not answer, or answered that it is busy or failing: the activity is retried.</summary>
public sealed class StorageUnavailableException(string message) : Exception(message);
