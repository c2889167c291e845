using Soup.Core.Jobs;

namespace Soup.Orchestration;

/// <summary>
/// Hears which jobs were put on the queue. The local engine's container watcher uses it to list only the folders of
/// pipelines with jobs outstanding, so its cost does not grow with the finished pipelines in the container; the
/// Functions app has none (Event Grid tells it about landings).
/// </summary>
public interface IJobDispatchObserver
{
    /// <summary>Called after <paramref name="jobs"/> were sent.</summary>
    void Dispatched(IReadOnlyList<Job> jobs);
}
