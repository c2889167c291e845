using System.Globalization;

namespace Soup.Reports;

/// <summary>How numbers read in reports (the same in the HTML page and the Markdown tables).</summary>
public static class ReportFormat
{
    /// <summary>What an absent value reads as.</summary>
    public const string None = "–";

    /// <summary>An accuracy as a percentage with two decimals, e.g. <c>87.25%</c>; <see cref="None"/> when absent.</summary>
    public static string Percent(double? value) =>
        value is { } v && double.IsFinite(v) ? (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%" : None;

    /// <summary>A difference of accuracies in percentage points, signed, e.g. <c>+1.20</c>.</summary>
    public static string Points(double? value) =>
        value is { } v && double.IsFinite(v) ? (v * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) : None;

    /// <summary>A number with <paramref name="decimals"/> decimals; <see cref="None"/> when absent.</summary>
    public static string Number(double? value, int decimals = 3) =>
        value is { } v && double.IsFinite(v) ? v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : None;

    /// <summary>An interpolation coefficient with at most three decimals, e.g. <c>0</c>, <c>0.125</c>, <c>1</c>.</summary>
    public static string Lambda(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A time in UTC, to the second.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
