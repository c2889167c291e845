using Soup.Merging;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class LinearMethodTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Merge_WeightsAtEndpoints_ReturnsEachModel(int seed)
    {
        var random = new Random(seed);
        var first = MergeTestData.Random(random, 100);
        var second = MergeTestData.Random(random, 100);

        Assert.Equal(first, MergeTestData.Run(new LinearMethod([1, 0], true), [first, second]));
        Assert.Equal(second, MergeTestData.Run(new LinearMethod([0, 1], true), [first, second]));
    }

    [Theory]
    [InlineData(3, 0.25)]
    [InlineData(4, 0.6)]
    public void Merge_Interpolation_MatchesReference(int seed, double lambda)
    {
        var random = new Random(seed);
        var first = MergeTestData.Random(random, 100);
        var second = MergeTestData.Random(random, 100);

        var actual = MergeTestData.Run(new LinearMethod([1 - lambda, lambda], true), [first, second]);

        MergeTestData.AssertClose(first.Select((a, i) => ((1 - lambda) * a) + (lambda * second[i])).ToArray(), actual);
    }
}
