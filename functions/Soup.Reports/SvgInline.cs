using System.Text.RegularExpressions;

namespace Soup.Reports;

/// <summary>
/// Makes an SVG document fit to sit inside an HTML page next to others: no XML declaration, and element ids (ScottPlot
/// numbers its clip paths with a counter shared by the whole process) renamed to <c>{prefix}-1</c>, <c>{prefix}-2</c>, ...
/// in order of appearance, with every <c>url(#...)</c> and <c>href="#..."</c> reference to them. Ids then never clash
/// between two plots of a page, and the same plot gives the same text however many were drawn before it.
/// </summary>
public static partial class SvgInline
{
    /// <summary>The SVG of <paramref name="svg"/> ready to inline, its ids prefixed with <paramref name="prefix"/>.</summary>
    public static string Prepare(string svg, string prefix)
    {
        ArgumentNullException.ThrowIfNull(svg);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var body = XmlDeclaration().Replace(svg, "", 1).Trim();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match id in IdAttribute().Matches(body))
            names.TryAdd(id.Groups["id"].Value, $"{prefix}-{names.Count + 1}");
        if (names.Count == 0)
            return body;

        body = IdAttribute().Replace(body, m => $"id=\"{names[m.Groups["id"].Value]}\"");
        return Reference().Replace(body, m => names.TryGetValue(m.Groups["id"].Value, out var name) ? m.Groups["lead"].Value + name : m.Value);
    }

    [GeneratedRegex(@"^\s*<\?xml[^>]*\?>")]
    private static partial Regex XmlDeclaration();

    [GeneratedRegex("\\bid=\"(?<id>[^\"]+)\"")]
    private static partial Regex IdAttribute();

    [GeneratedRegex("""(?<lead>url\(#|href="#)(?<id>[^)"]+)""")]
    private static partial Regex Reference();
}
