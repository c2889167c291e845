using Soup.Merging;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class TaskArithmeticMethodTests
{
    [Theory]
    [InlineData(1, 3, 0.7)]
    [InlineData(2, 1, 1.0)]
    [InlineData(3, 5, 1.5)]
    public void Merge_RandomTensors_MatchesReference(int seed, int members, double lambda)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 257);
        var models = Enumerable.Range(0, members).Select(_ => MergeTestData.Random(random, 257)).ToArray();
        var weights = Enumerable.Range(0, members).Select(_ => random.NextDouble() - 0.2).ToArray();

        var actual = MergeTestData.Run(TaskVectorMethod.TaskArithmetic(weights, lambda), models, baseValues);

        MergeTestData.AssertClose(Reference.TaskArithmetic(models, baseValues, weights, lambda), actual);
    }

    [Fact]
    public void Merge_NormalizeDefaultsOff_AsMergekit_AndOnDividesByTheWeights()
    {
        float[] baseValues = [1, 2];
        float[][] models = [[2, 2], [3, 5]];

        var byDefault = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "task_arithmetic" }), models, baseValues);
        var normalized = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "task_arithmetic", Normalize = true, Weights = [1, 3] }), models, baseValues);

        Assert.Equal([4f, 5f], byDefault); // base + τ₁ + τ₂
        Assert.Equal([1 + ((1 * 1f) + (3 * 2f)) / 4, 2 + ((1 * 0f) + (3 * 3f)) / 4], normalized); // base + Σ wτ / Σ w
    }

    [Fact]
    public void Merge_LambdaZero_ReturnsBase()
    {
        var random = new Random(4);
        var baseValues = MergeTestData.Random(random, 100);
        var models = new[] { MergeTestData.Random(random, 100), MergeTestData.Random(random, 100) };

        var actual = MergeTestData.Run(TaskVectorMethod.TaskArithmetic(null, 0), models, baseValues);

        Assert.Equal(baseValues, actual);
    }

    [Fact]
    public void Merge_WeightsOneOverN_OfIdenticalModels_ReturnsThem()
    {
        var random = new Random(5);
        var baseValues = MergeTestData.Random(random, 100);
        var model = MergeTestData.Random(random, 100);

        var actual = MergeTestData.Run(TaskVectorMethod.TaskArithmetic([1 / 3.0, 1 / 3.0, 1 / 3.0], 1), [model, model, model], baseValues);

        MergeTestData.AssertClose(model, actual, 1e-6);
    }

    [Fact]
    public void Merge_InChunks_EqualsWhole()
    {
        var random = new Random(6);
        var baseValues = MergeTestData.Random(random, 100);
        var models = new[] { MergeTestData.Random(random, 100), MergeTestData.Random(random, 100) };
        var method = TaskVectorMethod.TaskArithmetic([0.3, 0.9], 1.2);

        Assert.Equal(MergeTestData.Run(method, models, baseValues), MergeTestData.RunChunked(method, models, baseValues, [13, 64]));
    }

    [Fact]
    public void Validate_NoBase_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => TaskVectorMethod.TaskArithmetic(null, 1).Validate(2, hasBase: false));

        Assert.Contains("task_arithmetic needs a base model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WeightCountMismatch_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => TaskVectorMethod.TaskArithmetic([1, 2], 1).Validate(3, hasBase: true));

        Assert.Equal("task_arithmetic got 2 weight(s) for 3 member(s)", error.Message);
    }

    [Fact]
    public void Merge_ChunkWithoutBase_Throws()
    {
        Assert.Throws<ArgumentException>(() => MergeTestData.Run(TaskVectorMethod.TaskArithmetic(null, 1), [[1f]], null));
    }
}
