using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Soup.Reports.Tests;

/// <summary>
/// Reports render on a host with no fonts and no fontconfig (Flex Consumption installs nothing): the native SkiaSharp
/// build needs no libfontconfig, and the plots draw with the DejaVu Sans files shipped beside the app. Proven by
/// rendering in a process that sees an empty /usr/share/fonts and cannot load libfontconfig (a mount namespace).
/// </summary>
public sealed class ReportFontsTests
{
    private const string IsolatedVariable = "SOUP_REPORT_FONTS_ISOLATED";

    [Fact]
    public void Plots_UseTheShippedFont_RegularAndBold()
    {
        Assert.True(ReportFonts.EnsureRegistered(), $"no font files in {ReportFonts.Folder}");
        Assert.Equal(ReportFonts.Alias, ScottPlot.Fonts.Default);
        // ScottPlot caches the typefaces it returns: not ours to dispose.
        var regular = ScottPlot.Fonts.GetTypeface(ReportFonts.Alias, bold: false, italic: false);
        var bold = ScottPlot.Fonts.GetTypeface(ReportFonts.Alias, bold: true, italic: false);
        Assert.Equal(ReportFonts.Family, regular.FamilyName);
        Assert.True(regular.GlyphCount > 1000, $"{regular.GlyphCount} glyphs");
        Assert.True(bold.IsBold, "the bold face is bold");
    }

    [Fact]
    public async Task Report_Renders_WithNoSystemFontsAndNoFontconfig()
    {
        if (Environment.GetEnvironmentVariable(IsolatedVariable) == "1")
        {
            RenderHere();
            return;
        }

        // Run this same test again, in a mount namespace where /usr/share/fonts is empty and every libfontconfig is /dev/null.
        if (!await CanIsolateAsync())
            Assert.Skip("unshare -m is not permitted here (it needs root or user namespaces): the isolated rendering did not run.");
        var self = Environment.ProcessPath!;
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            arguments.Add(typeof(ReportFontsTests).Assembly.Location);
        // xunit's own in-process runner (the test executable run directly), this one test.
        arguments.AddRange(["-method", "*." + nameof(Report_Renders_WithNoSystemFontsAndNoFontconfig)]);
        const string isolate = "mount -t tmpfs none /usr/share/fonts && for f in $(ldconfig -p | awk '/libfontconfig/ {print $NF}'); do mount --bind /dev/null \"$(readlink -f \"$f\")\"; done && exec \"$@\"";
        var start = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-m", "sh", "-c", isolate, "isolated", self, .. arguments])
            start.ArgumentList.Add(a);
        start.Environment[IsolatedVariable] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        var text = await output + await error;
        Assert.True(process.ExitCode == 0, $"the isolated rendering failed (exit {process.ExitCode}):\n{text}");
        Assert.Contains("Total: 1, Errors: 0, Failed: 0, Skipped: 0", text, StringComparison.Ordinal);
    }

    private static void RenderHere()
    {
        // The isolation holds: no system font, no fontconfig.
        Assert.Empty(Directory.EnumerateFileSystemEntries("/usr/share/fonts"));
        var html = new PipelineReportRenderer().RenderHtml(SampleResults.Complete());

        Assert.Equal(6, Regex.Count(html, "<svg"));
        Assert.Contains($"font-family=\"{ReportFonts.Family}\"", html, StringComparison.Ordinal);
        // The labels are drawn as text in that font (where no typeface is found, Skia's SVG has no text at all).
        Assert.Matches(">\\s*Accuracy per round on &apos;validation&apos;\\s*</text>", html);
        Assert.DoesNotContain("libfontconfig", File.ReadAllText("/proc/self/maps"), StringComparison.Ordinal);
        var typeface = ScottPlot.Fonts.GetTypeface(ScottPlot.Fonts.Default, bold: false, italic: false);
        Assert.Equal(ReportFonts.Family, typeface.FamilyName);
        Assert.True(typeface.GlyphCount > 1000, $"{typeface.GlyphCount} glyphs");
    }

    private static async Task<bool> CanIsolateAsync()
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("unshare", ["-m", "sh", "-c", "mount -t tmpfs none /usr/share/fonts"]) { RedirectStandardError = true })!;
            await probe.WaitForExitAsync(TestContext.Current.CancellationToken);
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
