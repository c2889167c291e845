using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask.Client;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Cli.Commands;

/// <summary>
/// Polls a pipeline and prints a line whenever its progress changes, and the running jobs' step and loss (from their
/// progress reports) at most every few seconds, until it ends.
/// </summary>
internal static class ProgressPrinter
{
    private static readonly TimeSpan JobsEvery = TimeSpan.FromSeconds(5);

    public static async Task<PipelineStatusView> WatchAsync(
        DurableTaskClient client, SoupStorage storage, JobProgressReader? jobs, string id, TextWriter output, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var sinceJobs = Stopwatch.StartNew();
        string? last = null, lastJobs = null;
        while (true)
        {
            var view = await PipelineStatusReader.ReadAsync(client, storage, id, cancellationToken)
                ?? throw new InvalidOperationException($"pipeline {id} vanished from the task hub");
            var line = Describe(view);
            if (line != last)
            {
                output.WriteLine($"[{clock.Elapsed:mm\\:ss}] {line}");
                last = line;
            }

            if (view.IsTerminal)
            {
                return view;
            }

            if (jobs is not null && view.Progress is { Pending: > 0 } progress && sinceJobs.Elapsed >= JobsEvery)
            {
                sinceJobs.Restart();
                var running = (await jobs.ReadAsync(id, progress.Round, cancellationToken)).Where(j => j.Step < j.TotalSteps).ToList();
                var jobsLine = DescribeJobs(running);
                if (running.Count > 0 && jobsLine != lastJobs)
                {
                    output.WriteLine($"[{clock.Elapsed:mm\\:ss}]   {jobsLine}");
                    lastJobs = jobsLine;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static string Describe(PipelineStatusView view) =>
        view.Progress is { } p ? $"{view.RuntimeStatus.ToLowerInvariant()} | {p.Describe()}" : view.RuntimeStatus;

    /// <summary>One line: each running job's short name, step and recent loss, e.g. <c>member-002 120/250 loss 0.412</c>.</summary>
    internal static string DescribeJobs(IEnumerable<JobProgress> running) => string.Join(" | ", running.Select(j =>
        string.Create(CultureInfo.InvariantCulture, $"{j.JobId[(j.JobId.LastIndexOf('/') + 1)..]} {j.Step}/{j.TotalSteps} {(j.Unit == "pairs" ? "pairs" : $"loss {j.Loss:F3}")}")));
}
