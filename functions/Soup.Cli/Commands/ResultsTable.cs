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
            table.AddEmptyRow();
        }

        console.Write(table);
        console.WriteLine($"Accuracy is on the '{result.Rounds[^1].Split}' split. Final checkpoint: {result.FinalCheckpoint}");
    }
}
