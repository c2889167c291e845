using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Soup.Orchestration;

namespace Soup.Cli.Commands;

/// <summary>Polls a pipeline and prints a line whenever its progress changes, until it ends.</summary>
internal static class ProgressPrinter
{
    public static async Task<PipelineStatusView> WatchAsync(DurableTaskClient client, string id, TextWriter output, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string? last = null;
        while (true)
        {
            var metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken)
                ?? throw new InvalidOperationException($"pipeline {id} vanished from the task hub");
            var view = PipelineStatusView.From(metadata);
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

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static string Describe(PipelineStatusView view)
    {
        if (view.Progress is not { } p)
        {
            return view.RuntimeStatus;
        }

        var round = p.Round == 0 ? "init" : $"round {p.Round}/{p.Rounds}";
        var jobs = p.Pending + p.Landed > 0 ? $", {p.Landed}/{p.Landed + p.Pending} landed" : "";
        var accuracy = p.LastSoupAccuracy is { } a ? $", last soup accuracy {a:P2}" : "";
        var message = p.Message is null ? "" : $": {p.Message}";
        return $"{view.RuntimeStatus.ToLowerInvariant()} | {round} {p.Phase}{jobs}{accuracy}{message}";
    }
}
