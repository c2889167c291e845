using Microsoft.DurableTask;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>Puts a stage's jobs on the jobs queue for the workers.</summary>
public sealed class DispatchJobsActivity(SoupStorage storage) : TaskActivity<IReadOnlyList<Job>, int>
{
    /// <inheritdoc />
    public override async Task<int> RunAsync(TaskActivityContext context, IReadOnlyList<Job> input)
    {
        foreach (var job in input)
        {
            await storage.SendJobAsync(job);
        }

        return input.Count;
    }
}
