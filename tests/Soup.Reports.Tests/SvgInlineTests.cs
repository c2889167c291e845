namespace Soup.Reports.Tests;

public sealed class SvgInlineTests
{
    [Fact]
    public void Prepare_ClipPathIds_RenamedWithPrefixInOrderAndReferencesFollow()
    {
        const string svg = """
            <?xml version="1.0" encoding="utf-8" ?>
            <svg><clipPath id="cl_17"><rect/></clipPath><clipPath id="cl_9"><rect/></clipPath>
            <g clip-path="url(#cl_9)"/><g clip-path="url(#cl_17)"/><use href="#cl_9"/><g clip-path="url(#elsewhere)"/></svg>
            """;

        var inline = SvgInline.Prepare(svg, "plot-a");

        Assert.StartsWith("<svg>", inline, StringComparison.Ordinal);
        Assert.Contains("""<clipPath id="plot-a-1">""", inline, StringComparison.Ordinal);
        Assert.Contains("""<clipPath id="plot-a-2">""", inline, StringComparison.Ordinal);
        Assert.Contains("""<g clip-path="url(#plot-a-2)"/><g clip-path="url(#plot-a-1)"/><use href="#plot-a-2"/>""", inline, StringComparison.Ordinal);
        Assert.Contains("url(#elsewhere)", inline, StringComparison.Ordinal); // not an id of this SVG: left alone
        Assert.DoesNotContain("cl_", inline, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_SamePlotDrawnTwice_SameTextThoughScottPlotsCounterMoved()
    {
        ReportFonts.EnsureRegistered(); // the same font for both drawings, whichever test registers it first
        static string Draw()
        {
            var plot = new ScottPlot.Plot();
            plot.Add.Scatter(new double[] { 1, 2, 3 }, new double[] { 0.5, 0.7, 0.6 });
            return plot.GetSvgXml(300, 200);
        }

        var (first, second) = (Draw(), Draw());

        Assert.NotEqual(first, second); // ScottPlot numbers clip paths with a counter shared by the process
        Assert.Equal(SvgInline.Prepare(first, "p"), SvgInline.Prepare(second, "p"));
    }
}
