using ScottPlot;

namespace Soup.Reports;

/// <summary>
/// The font the plots are drawn with: DejaVu Sans (regular and bold), shipped in <c>Fonts/</c> beside this assembly.
/// A host with no system fonts (Flex Consumption installs nothing, and SkiaSharp's dependency-free native build reads
/// no fontconfig) still measures and draws the plots' text. Registered once, ahead of the system fonts, before the
/// first plot; where the files are missing (a trimmed or single-file build), ScottPlot keeps its system font.
/// </summary>
public static class ReportFonts
{
    /// <summary>The shipped font's own family name (what the SVG's <c>font-family</c> says).</summary>
    public const string Family = "DejaVu Sans";

    /// <summary>
    /// The name the plots ask ScottPlot for. Not the family's own: ScottPlot caches a typeface per name, and a plot
    /// drawn before registration would have cached the host's "DejaVu Sans" (an empty typeface where the host has no
    /// fonts: every label of every later plot would vanish).
    /// </summary>
    public const string Alias = "Soup Reports Sans";

    private static readonly Lazy<bool> Registration = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Registers the shipped font with ScottPlot (once); true when it is in use.</summary>
    public static bool EnsureRegistered() => Registration.Value;

    /// <summary>The folder the font files ship in.</summary>
    public static string Folder =>
        Path.Combine(Path.GetDirectoryName(typeof(ReportFonts).Assembly.Location) is { Length: > 0 } d ? d : AppContext.BaseDirectory, "Fonts");

    private static bool Register()
    {
        var regular = Path.Combine(Folder, "DejaVuSans.ttf");
        var bold = Path.Combine(Folder, "DejaVuSans-Bold.ttf");
        if (!File.Exists(regular) || !File.Exists(bold))
            return false;
        var before = Fonts.FontResolvers.Count;
        Fonts.AddFontFile(Alias, regular, bold: false, italic: false);
        Fonts.AddFontFile(Alias, bold, bold: true, italic: false);
        // Ahead of the system resolver, so the shipped files win over whatever the host has.
        var added = Fonts.FontResolvers.GetRange(before, Fonts.FontResolvers.Count - before);
        Fonts.FontResolvers.RemoveRange(before, added.Count);
        Fonts.FontResolvers.InsertRange(0, added);
        Fonts.Default = Alias;
        Fonts.Sans = Alias;
        return true;
    }
}
