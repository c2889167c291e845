using System.Net;
using System.Text;

namespace Soup.Reports;

/// <summary>
/// Writes a report as one self-contained HTML page: inline CSS, plots as inline SVG, no script, no external resource.
/// Every text from the pipeline is HTML-encoded.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #1b1b1b; background: #fff; }
        h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
        table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
        th { background: #f0f3f7; }
        caption { caption-side: top; text-align: left; font-weight: bold; padding: 4px 0; }
        table.facts th { width: 12em; }
        .pending { color: #6b5900; background: #fff8d6; border-left: 4px solid #e0b800; padding: 6px 10px; }
        figure { margin: 16px 0; } figcaption { font-size: 0.9em; color: #444; max-width: 720px; }
        svg { max-width: 100%; height: auto; }
        footer { margin-top: 40px; font-size: 0.8em; color: #666; }
        """;

    /// <summary>The page of <paramref name="model"/>.</summary>
    public static string Render(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>Pipeline ").Append(Encode(model.View.Id)).Append(" report</title>\n")
            .Append("<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");

        html.Append("<header>\n<h1>Pipeline ").Append(Encode(model.View.Id)).Append("</h1>\n<table class=\"facts\">\n");
        foreach (var (label, value) in ReportSections.Facts(model))
            html.Append("<tr><th scope=\"row\">").Append(Encode(label)).Append("</th><td>").Append(Encode(value)).Append("</td></tr>\n");
        html.Append("</table>\n</header>\n");

        var sections = ReportSections.All(model);
        Section(html, sections[0]);
        html.Append("<section id=\"plots\">\n<h2>Plots</h2>\n");
        foreach (var figure in ReportPlots.All(model))
            Figure(html, figure);
        html.Append("</section>\n");
        foreach (var section in sections.Skip(1))
            Section(html, section);

        html.Append("<footer>Accuracies are the fraction of examples classified correctly. Splits: ")
            .Append(Encode(model.Splits.Count == 0 ? "none scored yet" : string.Join(", ", model.Splits.Select(s => Describe(model, s)))))
            .Append(".</footer>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>HTML-encodes <paramref name="text"/> (<c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, quotes and apostrophes).</summary>
    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static string Describe(ReportModel model, string split)
    {
        var role = model.RoleOf(split) switch
        {
            "validation" => "in-distribution",
            "test" => "out-of-distribution",
            "objective" => "objective",
            _ => "role not given",
        };
        return model.DescriptionOf(split) is { } description ? $"'{split}' ({role}: {description})" : $"'{split}' ({role})";
    }

    private static void Section(StringBuilder html, ReportSection section)
    {
        html.Append("<section id=\"").Append(Encode(section.Id)).Append("\">\n<h2>").Append(Encode(section.Title)).Append("</h2>\n");
        if (section.Pending is { } pending)
            Pending(html, pending);
        foreach (var table in section.Tables)
            Table(html, table);
        html.Append("</section>\n");
    }

    private static void Figure(StringBuilder html, ReportFigure figure)
    {
        html.Append("<figure id=\"").Append(Encode(figure.Id)).Append("\">\n<h3>").Append(Encode(figure.Title)).Append("</h3>\n");
        if (figure.Svg is { } svg)
            html.Append(svg).Append("\n<figcaption>").Append(Encode(figure.Caption)).Append("</figcaption>\n");
        else
            Pending(html, figure.Pending ?? "Not drawn.");
        html.Append("</figure>\n");
    }

    private static void Pending(StringBuilder html, string text) =>
        html.Append("<p class=\"pending\">").Append(Encode(text)).Append("</p>\n");

    private static void Table(StringBuilder html, TextTable table)
    {
        html.Append("<table>\n<caption>").Append(Encode(table.Caption)).Append("</caption>\n<thead><tr>");
        foreach (var header in table.Headers)
            html.Append("<th scope=\"col\">").Append(Encode(header)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in table.Rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
                html.Append("<td>").Append(Encode(cell)).Append("</td>");
            html.Append("</tr>\n");
        }

        html.Append("</tbody>\n</table>\n");
    }
}
