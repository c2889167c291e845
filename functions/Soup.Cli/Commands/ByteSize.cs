using System.Globalization;

namespace Soup.Cli.Commands;

/// <summary>Sizes on the command line: <c>1073741824</c>, <c>512MB</c>, <c>2GB</c>, <c>1.5GiB</c> (powers of 1024).</summary>
public static class ByteSize
{
    /// <summary>Parses a size; throws <see cref="FormatException"/> naming the text.</summary>
    public static long Parse(string text)
    {
        var t = text.Trim().ToUpperInvariant().Replace("IB", "B", StringComparison.Ordinal);
        (string Suffix, long Factor)[] units = [("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("TB", 1L << 40), ("B", 1)];
        foreach (var (suffix, factor) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0)
            {
                return checked((long)(value * factor));
            }
        }

        return long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0
            ? bytes
            : throw new FormatException($"'{text}' is not a size: write e.g. 1073741824, 512MB or 2GB");
    }

    /// <summary>A memory budget: a size as <see cref="Parse"/> reads it, or <c>none</c> (no limit: null).</summary>
    public static long? ParseBudget(string text) =>
        text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) ? null : Parse(text);
}
