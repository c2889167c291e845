using Soup.Merging;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class TiesMethodTests
{
    [Theory]
    [InlineData(1, 3, 0.2, true)]
    [InlineData(2, 4, 0.5, true)]
    [InlineData(3, 2, 0.8, false)]
    [InlineData(4, 5, 1.0, true)]
    [InlineData(5, 3, 0.01, true)]
    public void Merge_QuantizedTensorsWithManyTies_MatchesReference(int seed, int members, double density, bool normalize)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Quantized(random, 301);
        var models = Enumerable.Range(0, members).Select(_ => MergeTestData.Quantized(random, 301)).ToArray();
        var weights = Enumerable.Range(0, members).Select(_ => 0.25 + random.NextDouble()).ToArray();

        var actual = MergeTestData.Run(TaskVectorMethod.Ties(weights, normalize, 0.9, density), models, baseValues);

        MergeTestData.AssertClose(Reference.Ties(models, baseValues, weights, normalize, 0.9, density), actual);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Merge_RandomTensorsNoWeights_MatchesReference(int seed)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 1000);
        var models = Enumerable.Range(0, 3).Select(_ => MergeTestData.Random(random, 1000)).ToArray();

        var actual = MergeTestData.Run(TaskVectorMethod.Ties(null, true, 1, 0.3), models, baseValues);

        MergeTestData.AssertClose(Reference.Ties(models, baseValues, null, true, 1, 0.3), actual);
    }

    [Fact]
    public void Merge_SmallExample_ElectsSignAndAveragesAgreeingEntries()
    {
        float[] baseValues = [0, 0, 0, 0, 0];
        float[][] models = [[3, -1, 2, 0, 2], [-1, -1, -5, 0, -2], [2, 4, 1, 0, 0]];

        var actual = MergeTestData.Run(TaskVectorMethod.Ties(null, true, 1, 1), models, baseValues);

        // Sums 4, 2, -2, 0, 0: elected +, +, -, +, + (a zero sum elects +); means (3+2)/2, 4/1, -5/1, nothing, 2/1.
        Assert.Equal([2.5f, 4f, -5f, 0f, 2f], actual);
    }

    [Fact]
    public void Merge_EqualMagnitudesAtThreshold_KeepsLowestIndices()
    {
        float[] baseValues = [0, 0, 0, 0, 0, 0];
        float[][] models = [[1, -2, 1, -1, 2, 1]];

        var actual = MergeTestData.Run(TaskVectorMethod.Ties(null, true, 1, 0.5), models, baseValues);

        Assert.Equal([1f, -2f, 0f, 0f, 2f, 0f], actual);
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    public void Merge_DensityOneAgreeingSigns_EqualsTaskArithmeticMean(int seed)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 200);
        var direction = MergeTestData.Random(random, 200).Select(v => v >= 0 ? 1f : -1f).ToArray();
        var models = Enumerable.Range(0, 3)
            .Select(_ => baseValues.Select((b, i) => b + (direction[i] * (0.01f + random.NextSingle()))).ToArray())
            .ToArray();

        var ties = MergeTestData.Run(TaskVectorMethod.Ties(null, true, 1, 1), models, baseValues);
        var mean = MergeTestData.Run(TaskVectorMethod.TaskArithmetic([1 / 3.0, 1 / 3.0, 1 / 3.0], 1), models, baseValues);

        MergeTestData.AssertClose(mean, ties);
    }

    [Fact]
    public void Merge_IdenticalModels_ReturnsThem()
    {
        var random = new Random(23);
        var baseValues = MergeTestData.Random(random, 100);
        var model = MergeTestData.Random(random, 100);

        var actual = MergeTestData.Run(TaskVectorMethod.Ties(null, true, 1, 1), [model, model, model], baseValues);

        MergeTestData.AssertClose(model, actual, 1e-6);
    }

    [Fact]
    public void Merge_PartOfATensor_Throws()
    {
        var method = TaskVectorMethod.Ties(null, true, 1, 0.5);

        Assert.False(method.IsElementwise);
        Assert.Throws<ArgumentException>(() => MergeTestData.RunChunked(method, [[1f, 2f, 3f]], [0f, 0f, 0f], [1]));
    }

    [Theory]
    [InlineData(31, 10_000, 0.37)]
    [InlineData(32, 4096, 0.5)]
    [InlineData(33, 777, 0.001)]
    public void KeepLargest_ManyTiesAndSignedZeros_MatchesSort(int seed, int length, double density)
    {
        var random = new Random(seed);
        var values = MergeTestData.Quantized(random, length, steps: 4);
        values[0] = -0f;
        var expected = Reference.Trim(values.Select(v => (double)v).ToArray(), density);
        var keep = MagnitudeTrim.KeepCount(density, length);

        MagnitudeTrim.KeepLargest(values.AsSpan(), keep);

        Assert.Equal(expected, values.Select(v => (double)v).ToArray());
        Assert.True(values.Count(v => v != 0) <= keep);
    }

    [Fact]
    public void Validate_DensityZeroOrNoBase_Throws()
    {
        Assert.Throws<ArgumentException>(() => TaskVectorMethod.Ties(null, true, 1, 0));
        Assert.Throws<ArgumentException>(() => TaskVectorMethod.Ties(null, true, 1, 0.5).Validate(2, hasBase: false));
    }
}
