using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Puts a stage's jobs on the jobs queue for the workers, a few at a time (a round of a thousand members is a thousand
/// messages). Its input names the stage (<see cref="DispatchRequest"/>): it reads the spec by hash and plans the jobs
/// itself (<see cref="JobPlanner.Plan"/>), so the orchestration's history holds the request, not the jobs. Safe to
/// repeat: the same request plans the same job ids, and a job sent twice trains once (the worker's claim on its
/// heartbeat, its conditional output).
/// </summary>
public sealed class DispatchJobsActivity(SoupStorage storage, IEnumerable<IJobDispatchObserver> observers, ILogger<DispatchJobsActivity> logger) : StorageActivity<DispatchRequest, int>(logger)
{
    /// <summary>
    /// Messages in flight at once. A send is one small request; 64 in flight kept a 1,024-member dispatch about 15 %
    /// shorter than 16 on the local engine (the emulator answers sooner with more to do), far below a queue's limits.
    /// </summary>
    private const int Concurrency = 64;

    /// <inheritdoc />
    protected override async Task<int> RunCoreAsync(TaskActivityContext context, DispatchRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var spec = await new BlobSpecStore(storage).GetAsync(input.SpecHash);
        var jobs = JobPlanner.Plan(spec, input);
        await SendAsync(storage, jobs, observers);
        return jobs.Count;
    }

    /// <summary>Sends <paramref name="jobs"/>, <see cref="Concurrency"/> at a time, and tells the observers.</summary>
    public static async Task SendAsync(SoupStorage storage, IReadOnlyList<Job> jobs, IEnumerable<IJobDispatchObserver> observers)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(observers);
        await Parallel.ForEachAsync(
            jobs, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (job, cancellationToken) => await storage.SendJobAsync(job, cancellationToken));
        foreach (var observer in observers)
            observer.Dispatched(jobs);
    }
}
