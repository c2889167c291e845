using Soup.Orchestration;
using Spectre.Console;

namespace Soup.Cli.Commands;

/// <summary>The results table printed at the end of a run: per round, each member's accuracy and the soup's.</summary>
public static class ResultsTable
{
    /// <summary>Writes the table (or the failure) for <paramref name="view"/>.</summary>
    public static void Write(PipelineStatusView view, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 110; // Redirected output has no terminal width; keep rows on one line.
        if (view.Result is not { } result)
        {
            console.WriteLine($"Pipeline {view.Id} {view.RuntimeStatus}: {view.Failure ?? "no result"}");
            return;
        }

        var table = new Table().Title($"Pipeline {result.PipelineId}").AddColumns("round", "model", "learning rate", "seed", "accuracy", "loss");
        foreach (var round in result.Rounds)
        {
            foreach (var m in round.Members)
            {
                table.AddRow($"{round.Round}", $"member {m.Member}", $"{m.LearningRate:G4}", $"{m.Seed}", $"{m.Accuracy:P2}", $"{m.Loss:F4}");
            }

            var best = round.Members.Max(m => m.Accuracy);
            var mean = round.Members.Average(m => m.Accuracy);
            table.AddRow($"{round.Round}", "members: mean / best", "", "", $"{mean:P2} / {best:P2}", "");
            table.AddRow($"{round.Round}", "SOUP", "", "", $"{round.SoupAccuracy:P2}", $"{round.SoupLoss:F4}");
            if (round.Diagnostics is { EnsembleAccuracy: { } ensembleAccuracy } d)
                table.AddRow($"{round.Round}", "ensemble (reference)", "", "", $"{ensembleAccuracy:P2}", $"{d.EnsembleLoss:F4}");
            table.AddEmptyRow();
        }

        console.Write(table);
        foreach (var round in result.Rounds)
        {
            if (Diagnose(round) is { } line)
                output.WriteLine(line); // Not through the console: it would wrap the line at its width.
            foreach (var variants in Variants(round))
                output.WriteLine(variants);
        }

        if (result.Stopped is { } stopped)
            output.WriteLine($"Stopped early: {stopped}");

        console.WriteLine($"Accuracy is on the '{result.Rounds[^1].Split}' split. Final checkpoint: {result.FinalCheckpoint}");
    }

    /// <summary>
    /// One line per evaluated split of a round: the accuracy of each way of using its members (ERM, the merge, greedy
    /// soup, ensemble), so in- and out-of-distribution results sit side by side.
    /// </summary>
    internal static IEnumerable<string> Variants(RoundResult round)
    {
        if (round.Variants is not { Count: > 0 } variants)
            yield break;
        foreach (var split in variants.SelectMany(v => v.Scores.Select(s => s.Split)).Distinct())
        {
            var cells = variants.Select(v => v.Scores.FirstOrDefault(s => s.Split == split) is { } score
                ? FormattableString.Invariant($"{v.Name} {score.Accuracy:P2}")
                : null).OfType<string>();
            yield return $"round {round.Round} on '{split}': {string.Join(", ", cells)}";
        }
    }

    /// <summary>
    /// One line per round on the conditions for averaging: diversity (disagreement, ratio-error) and the connectivity of
    /// a pair (midpoint accuracy against the endpoints' mean); null when the round measured neither.
    /// </summary>
    internal static string? Diagnose(RoundResult round)
    {
        if (round.Diagnostics is not { } d)
            return null;
        var parts = new List<string>();
        if (d.Disagreement is { } disagreement && d.RatioError is { } ratio)
            parts.Add(FormattableString.Invariant($"diversity: disagreement {disagreement:P1}, ratio-error {ratio:F2}"));
        if (d is { MidpointAccuracy: { } midpoint, EndpointMeanAccuracy: { } endpoints, ConnectivityGap: { } gap })
            parts.Add(FormattableString.Invariant($"connectivity members {d.PairA}-{d.PairB}: midpoint {midpoint:P2} vs endpoints' mean {endpoints:P2} (gap {gap * 100:+0.00;-0.00} points)"));
        return parts.Count == 0 ? null : $"round {round.Round}: {string.Join("; ", parts)}";
    }
}
