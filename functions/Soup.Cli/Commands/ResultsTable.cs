using Soup.Orchestration;
using Soup.Reports;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Soup.Cli.Commands;

/// <summary>
/// What <c>pipeline run</c> and <c>pipeline status</c> print when a pipeline ends: the report's facts and its rounds
/// and soup variants tables, from the same model as the HTML and Markdown reports (<see cref="ReportModel"/>,
/// <see cref="ReportSections"/>), so a number is computed once and reads the same everywhere. Members are listed by
/// <c>pipeline report</c> (a round may have a thousand).
/// </summary>
public static class ResultsTable
{
    /// <summary>Writes the facts and tables of <paramref name="view"/> (a failed pipeline's completed rounds too).</summary>
    public static void Write(PipelineStatusView view, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(output);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 200; // Redirected output has no terminal width; keep rows on one line.

        var model = ReportModel.From(view);
        foreach (var (label, value) in ReportSections.Facts(model))
            output.WriteLine($"{label}: {value}"); // Not through the console: it would wrap long lines at its width.

        foreach (var section in new[] { ReportSections.Rounds(model), ReportSections.Variants(model), ReportSections.Generation(model), ReportSections.Missing(model) })
        {
            foreach (var table in section.Tables)
            {
                var rendered = new Table().Title(Markup.Escape(table.Caption));
                foreach (var header in table.Headers)
                    rendered.AddColumn(new TableColumn(new Text(header)));
                foreach (var row in table.Rows)
                    rendered.AddRow(row.Select(cell => (IRenderable)new Text(cell)));
                console.Write(rendered);
            }
        }
    }
}
