using Soup.Training.Text;

namespace Soup.Training.Tests;

public sealed class LabelNoiseTests
{
    private static PreferencePair[] MakePairs(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new PreferencePair($"prompt {i}", $"good {i}", $"bad {i}"))];

    [Theory]
    [InlineData(10, 0.25, 3)] // 2.5 rounds away from zero
    [InlineData(10, 0.5, 5)]
    [InlineData(3, 0.5, 2)] // 1.5
    [InlineData(7, 0.1, 1)] // 0.7
    [InlineData(4, 0.1, 0)] // 0.4
    [InlineData(2, 0.25, 1)] // 0.5
    [InlineData(1000, 0.123, 123)]
    [InlineData(0, 0.3, 0)]
    public void Flip_Count_IsRoundHalfAwayFromZeroOfFractionTimesCount(int count, double fraction, int expected)
    {
        var (noisy, flipped) = LabelNoise.Flip(MakePairs(count), fraction, seed: 1);

        Assert.Equal(count, noisy.Count);
        Assert.Equal(count, flipped.Count);
        Assert.Equal(expected, flipped.Count(f => f));
    }

    [Fact]
    public void Flip_SwapsChosenAndRejectedOfExactlyTheFlaggedPairs()
    {
        var pairs = MakePairs(50);

        var (noisy, flipped) = LabelNoise.Flip(pairs, 0.3, seed: 7);

        for (var i = 0; i < pairs.Length; i++)
        {
            var expected = flipped[i] ? new PreferencePair(pairs[i].Prompt, pairs[i].Rejected, pairs[i].Chosen) : pairs[i];
            Assert.Equal(expected, noisy[i]);
        }
    }

    [Fact]
    public void Flip_SameSeed_SamePairs_OtherSeed_OtherPairs()
    {
        var pairs = MakePairs(100);

        var first = LabelNoise.Flip(pairs, 0.3, seed: 1).Flipped;

        Assert.Equal(first, LabelNoise.Flip(pairs, 0.3, seed: 1).Flipped);
        Assert.NotEqual(first, LabelNoise.Flip(pairs, 0.3, seed: 2).Flipped);
    }

    [Fact]
    public void Flip_FractionZero_FlipsNone()
    {
        var pairs = MakePairs(20);

        var (noisy, flipped) = LabelNoise.Flip(pairs, 0, seed: 3);

        Assert.DoesNotContain(true, flipped);
        Assert.Equal(pairs, noisy);
    }

    [Fact]
    public void Flip_OverSeeds_EveryPairIsFlippedAsOften()
    {
        const int seeds = 4000;
        var pairs = MakePairs(10);
        var counts = new int[pairs.Length];

        for (var seed = 0; seed < seeds; seed++)
        {
            var flipped = LabelNoise.Flip(pairs, 0.3, seed).Flipped;
            for (var i = 0; i < pairs.Length; i++)
                counts[i] += flipped[i] ? 1 : 0;
        }

        // Each pair is flipped with probability 0.3: 1,200 of 4,000 (standard deviation 29).
        Assert.All(counts, count => Assert.InRange(count, 1080, 1320));
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(0.51)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Flip_FractionOutsideZeroToHalf_Throws(double fraction)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => LabelNoise.Flip(MakePairs(4), fraction, seed: 1));

        Assert.Equal("fraction", error.ParamName);
        Assert.Contains("[0, 0.5]", error.Message, StringComparison.Ordinal);
    }
}
