using System.Text;

namespace Soup.Reports;

/// <summary>Writes a report's facts and tables as Markdown (what <c>pipeline report</c> prints); plots are in the HTML page only.</summary>
public static class MarkdownReport
{
    /// <summary>The Markdown text of <paramref name="model"/>.</summary>
    public static string Render(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var text = new StringBuilder();
        text.Append("# Pipeline ").Append(Cell(model.View.Id)).Append("\n\n");
        foreach (var (label, value) in ReportSections.Facts(model))
            text.Append("- **").Append(Cell(label)).Append("**: ").Append(Cell(value)).Append('\n');
        foreach (var section in ReportSections.All(model))
        {
            text.Append("\n## ").Append(Cell(section.Title)).Append("\n\n");
            if (section.Pending is { } pending)
                text.Append(Cell(pending)).Append('\n');
            foreach (var table in section.Tables)
                Table(text, table);
        }

        return text.ToString();
    }

    /// <summary>A cell's text on one line, its pipes escaped so they do not split the cell.</summary>
    public static string Cell(string text) =>
        (text ?? "").Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);

    private static void Table(StringBuilder text, TextTable table)
    {
        text.Append('\n').Append(Cell(table.Caption)).Append(":\n\n");
        text.Append("| ").AppendJoin(" | ", table.Headers.Select(Cell)).Append(" |\n");
        text.Append('|').AppendJoin("|", table.Headers.Select(_ => "---")).Append("|\n");
        foreach (var row in table.Rows)
            text.Append("| ").AppendJoin(" | ", row.Select(Cell)).Append(" |\n");
    }
}
