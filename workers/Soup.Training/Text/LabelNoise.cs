using Soup.Training.Data;
using Soup.Training.FineTuning;

namespace Soup.Training.Text;

/// <summary>Corrupts preference labels on purpose, to study how reward models and their averages cope with noisy labels.</summary>
public static class LabelNoise
{
    /// <summary>The largest fraction that can be flipped: beyond half, flipping inverts the preference rather than adding noise.</summary>
    public const double MaxFraction = 0.5;

    /// <summary>
    /// Swaps chosen and rejected in exactly round(<paramref name="fraction"/> × n) pairs (half away from zero), the first
    /// ones of a permutation seeded with <paramref name="seed"/>: the same pairs for the same seed and count, every time.
    /// </summary>
    /// <returns>The pairs, in their order, some swapped; and for each, whether it was.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fraction"/> is outside [0, 0.5].</exception>
    public static (IReadOnlyList<PreferencePair> Noisy, IReadOnlyList<bool> Flipped) Flip(IReadOnlyList<PreferencePair> pairs, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (!(fraction >= 0 && fraction <= MaxFraction))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The label noise fraction must be in [0, 0.5].");
        var count = (int)Math.Round(fraction * pairs.Count, MidpointRounding.AwayFromZero);
        var order = Enumerable.Range(0, pairs.Count).ToArray();
        SeededShuffle.Shuffle(order, new Random(StreamSeed.Of(seed, StreamSeed.LabelNoise, 0)));
        var flipped = new bool[pairs.Count];
        foreach (var index in order.AsSpan(0, count))
            flipped[index] = true;
        var noisy = new PreferencePair[pairs.Count];
        for (var i = 0; i < pairs.Count; i++)
            noisy[i] = flipped[i] ? pairs[i] with { Chosen = pairs[i].Rejected, Rejected = pairs[i].Chosen } : pairs[i];
        return (noisy, flipped);
    }
}
