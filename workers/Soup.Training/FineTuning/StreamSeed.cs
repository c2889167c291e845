namespace Soup.Training.FineTuning;

/// <summary>
/// Derives independent seeds from a run's seed, a stream (what the numbers are for) and an index (an epoch or a step)
/// with SplitMix64, so any step's randomness can be recreated without replaying the steps before it.
/// </summary>
internal static class StreamSeed
{
    /// <summary>The stream of epoch permutations.</summary>
    public const ulong Shuffle = 1;

    /// <summary>The stream of per-step augmentation.</summary>
    public const ulong Augment = 2;

    /// <summary>The stream of a text corpus's held-out split.</summary>
    public const ulong HeldOut = 3;

    /// <summary>The stream of the preference pairs whose labels are flipped.</summary>
    public const ulong LabelNoise = 4;

    /// <summary>The stream that orders a corpus's documents into preference pairs.</summary>
    public const ulong CorpusPairs = 5;

    /// <summary>The stream of an RL step's draws (its completions).</summary>
    public const ulong RlSampling = 6;

    /// <summary>The stream of a batch of sampled preference pairs (its completions).</summary>
    public const ulong PairSampling = 7;

    /// <summary>A seed for <see cref="Random"/>, a function of the three inputs only.</summary>
    public static int Of(int seed, ulong stream, long index)
    {
        var x = Mix((ulong)(uint)seed);
        x = Mix(x ^ stream);
        x = Mix(x ^ (ulong)index);
        return (int)(x >> 33);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
