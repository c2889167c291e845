namespace Soup.Training.Data;

/// <summary>A Fisher–Yates shuffle written out here so that a seed gives the same order on every .NET version.</summary>
internal static class SeededShuffle
{
    public static void Shuffle(Span<int> values, Random random)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}
