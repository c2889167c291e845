using Microsoft.DurableTask;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Puts a stage's jobs on the jobs queue for the workers, a few at a time (a round of a thousand members is a thousand
/// messages). Safe to repeat: a job sent twice trains once (the worker's claim on its heartbeat, its conditional output).
/// </summary>
public sealed class DispatchJobsActivity(SoupStorage storage, IEnumerable<IJobDispatchObserver> observers) : TaskActivity<IReadOnlyList<Job>, int>
{
    /// <summary>Messages in flight at once.</summary>
    private const int Concurrency = 16;

    /// <inheritdoc />
    public override async Task<int> RunAsync(TaskActivityContext context, IReadOnlyList<Job> input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await Parallel.ForEachAsync(
            input, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (job, cancellationToken) => await storage.SendJobAsync(job, cancellationToken));
        foreach (var observer in observers)
            observer.Dispatched(input);
        return input.Count;
    }
}
