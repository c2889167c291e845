using Soup.Core.Jobs;

namespace Soup.Training.Data;

/// <summary>
/// The in/out split of one domain: a permutation seeded with the split seed and the domain's name; the first
/// <c>round(n × holdout)</c> permuted examples are "out", the rest "in", "all" is the whole permutation.
/// </summary>
internal static class DomainSplit
{
    /// <summary>The indices (into the domain's <paramref name="count"/> examples) of a part, in permuted order, at most <paramref name="limit"/>.</summary>
    public static int[] Select(int count, string domain, string part, double holdoutFraction, int splitSeed, int? limit)
    {
        var permutation = Enumerable.Range(0, count).ToArray();
        SeededShuffle.Shuffle(permutation, new Random(DomainSeed(splitSeed, domain)));
        var outCount = (int)Math.Round(count * holdoutFraction, MidpointRounding.AwayFromZero);
        var indices = part switch
        {
            DataParts.Out => permutation[..outCount],
            DataParts.In => permutation[outCount..],
            DataParts.All => permutation,
            _ => throw new ArgumentException($"Part '{part}' has no per-domain split; use {DataParts.In}, {DataParts.Out} or {DataParts.All}.", nameof(part)),
        };
        return limit < indices.Length ? indices[..limit.Value] : indices;
    }

    /// <summary>A seed from the split seed and the domain name (FNV-1a, stable across processes and .NET versions).</summary>
    public static int DomainSeed(int splitSeed, string domain)
    {
        var hash = 2166136261u ^ (uint)splitSeed;
        foreach (var c in domain)
            hash = (hash ^ c) * 16777619u;
        return (int)(hash & int.MaxValue);
    }
}
