namespace Soup.Training.Data;

/// <summary>One rotated domain: <paramref name="Count"/> images of <paramref name="Rows"/>×<paramref name="Columns"/> bytes, rotated, and their labels.</summary>
internal sealed record RotatedDomain(int Count, int Rows, int Columns, byte[] Pixels, byte[] Labels);
