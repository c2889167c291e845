using Soup.Training.Data;
using Soup.Training.FineTuning;

namespace Soup.Training.Text;

/// <summary>The held-out examples of a text dataset (documents, preference pairs): a seeded choice every job of a pipeline agrees on.</summary>
public static class HeldOut
{
    /// <summary>
    /// Which of <paramref name="count"/> examples are held out: round-half-away-from-zero(count × fraction) of them,
    /// chosen by a shuffle seeded with (<paramref name="seed"/>, held-out stream).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is outside [0, 1].</exception>
    public static bool[] Mask(int count, double fraction, int seed)
    {
        if (!(fraction >= 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The held-out fraction must be in [0, 1].");
        var held = (int)Math.Round(count * fraction, MidpointRounding.AwayFromZero);
        var order = Enumerable.Range(0, count).ToArray();
        SeededShuffle.Shuffle(order, new Random(StreamSeed.Of(seed, StreamSeed.HeldOut, 0)));
        var mask = new bool[count];
        foreach (var index in order.AsSpan(0, held))
            mask[index] = true;
        return mask;
    }

    /// <summary>The examples of <paramref name="part"/> (<c>in</c>, <c>out</c>, <c>all</c>), at most <paramref name="limit"/>.</summary>
    /// <exception cref="ArgumentException">The part is not one a text dataset has.</exception>
    public static IReadOnlyList<T> Part<T>(IReadOnlyList<T> items, string part, double fraction, int seed, int? limit, string dataset)
    {
        ArgumentNullException.ThrowIfNull(items);
        var mask = Mask(items.Count, fraction, seed);
        IEnumerable<T> chosen = part switch
        {
            Core.Jobs.DataParts.In => items.Where((_, i) => !mask[i]),
            Core.Jobs.DataParts.Out => items.Where((_, i) => mask[i]),
            Core.Jobs.DataParts.All => items,
            _ => throw new ArgumentException($"Dataset '{dataset}': a text dataset has parts in, out and all, not '{part}'.", nameof(part)),
        };
        return [.. limit is { } n ? chosen.Take(n) : chosen];
    }
}
