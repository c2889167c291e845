using System.Text.RegularExpressions;
using SkiaSharp;

namespace Soup.Reports.Tests;

/// <summary>What a rendered report must show in Chromium, checked the same way for a constructed and a real run.</summary>
internal static partial class ReportPageChecks
{
    /// <summary>
    /// Opens <paramref name="htmlFile"/> in headless Chromium and asserts that the DOM holds at least
    /// <paramref name="plots"/> SVG plots with drawn paths and <paramref name="roundRows"/> body rows in the rounds table,
    /// and that the screenshot is a real page: many distinct colours, and the soup's marker colour among them.
    /// </summary>
    public static void AssertRenders(string htmlFile, int plots, int roundRows)
    {
        var dom = HeadlessChromium.DumpDom(htmlFile);
        var svgs = SvgElement().Matches(dom).Select(m => m.Value).ToList();
        Assert.True(svgs.Count >= plots, $"expected at least {plots} <svg> plots in the rendered DOM, found {svgs.Count}");
        Assert.All(svgs, svg => Assert.True(Regex.Count(svg, "<path") >= 5, "a plot has fewer than 5 drawn paths"));
        var rounds = RoundsSection().Match(dom);
        Assert.True(rounds.Success, "the rendered DOM has no rounds section with a table");
        Assert.Equal(roundRows, Regex.Count(rounds.Groups["body"].Value, "<tr>"));

        using var screenshot = HeadlessChromium.Screenshot(htmlFile, 1280, 2400);
        var colours = new HashSet<uint>();
        var soupMarker = false;
        for (var y = 0; y < screenshot.Height; y += 1)
        {
            for (var x = 0; x < screenshot.Width; x += 1)
            {
                var c = screenshot.GetPixel(x, y);
                colours.Add((uint)c);
                soupMarker |= c.Red == 0xd6 && c.Green == 0x27 && c.Blue == 0x28;
            }
        }

        Assert.True(colours.Count > 200, $"the screenshot looks blank: {colours.Count} distinct colours");
        Assert.True(soupMarker, "the soup's marker colour (#d62728) is nowhere in the screenshot: the plots were not drawn");
    }

    [GeneratedRegex("<svg[\\s\\S]*?</svg>")]
    private static partial Regex SvgElement();

    [GeneratedRegex("<section id=\"rounds\">[\\s\\S]*?<tbody>(?<body>[\\s\\S]*?)</tbody>")]
    private static partial Regex RoundsSection();
}
