using Soup.Merging;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class ModelStockMethodTests
{
    [Theory]
    [InlineData(1, 2, 0.5f)]
    [InlineData(2, 3, 1.0f)]
    [InlineData(3, 5, 2.0f)]
    [InlineData(4, 3, 20f)]
    public void Merge_CorrelatedModels_MatchesReference(int seed, int members, float noise)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 400);
        var models = MergeTestData.Correlated(random, baseValues, members, noise);

        var actual = MergeTestData.Run(new ModelStockMethod(), models, baseValues);

        MergeTestData.AssertClose(Reference.ModelStock(models, baseValues), actual);
    }

    [Fact]
    public void Merge_TwoModelsAtKnownAngle_UsesThePapersRatio()
    {
        // τ₁ = (1, 0), τ₂ = (cos 60°, sin 60°): cos θ = 1/2, t = 2·(1/2)/(1 + 1/2) = 2/3.
        float[] baseValues = [0, 0];
        float[][] models = [[1, 0], [0.5f, (float)Math.Sqrt(0.75)]];

        var actual = MergeTestData.Run(new ModelStockMethod(), models, baseValues);

        MergeTestData.AssertClose(new[] { 2.0 / 3 * 0.75, 2.0 / 3 * Math.Sqrt(0.75) / 2 }, actual, 1e-6);
    }

    [Fact]
    public void Merge_IdenticalModels_ReturnsThem()
    {
        var random = new Random(5);
        var baseValues = MergeTestData.Random(random, 100);
        var model = MergeTestData.Random(random, 100);

        MergeTestData.AssertClose(model, MergeTestData.Run(new ModelStockMethod(), [model, model, model], baseValues), 1e-6);
    }

    [Fact]
    public void Merge_OrthogonalTaskVectors_ReturnsBase()
    {
        float[] baseValues = [1, 2, 3];
        float[][] models = [[2, 2, 3], [1, 3, 3]];

        Assert.Equal(baseValues, MergeTestData.Run(new ModelStockMethod(), models, baseValues));
    }

    [Fact]
    public void Merge_AntiCorrelatedMembers_ExtrapolatesPastTheBase_AsMergekit()
    {
        // τ = (1, 1), (−1, −0.5), (0.2, −1): mean pairwise cosine below 0, so t < 0 (mergekit does not clamp it).
        float[] baseValues = [1, 2];
        float[][] models = [[2, 3], [0, 1.5f], [1.2f, 1]];

        var actual = MergeTestData.Run(new ModelStockMethod(), models, baseValues);

        MergeTestData.AssertClose(Reference.ModelStock(models, baseValues), actual);
        var mean = new[] { models.Average(m => (double)m[0]), models.Average(m => (double)m[1]) };
        Assert.True((actual[0] - baseValues[0]) * (mean[0] - baseValues[0]) < 0, "the result lies on the other side of the base from the members' mean");
    }

    [Fact]
    public void Merge_OneModelEqualToBase_CountsItsCosineAsZero()
    {
        float[] baseValues = [1, 2];
        float[][] models = [[1, 2], [3, 6], [2, 1]];

        MergeTestData.AssertClose(Reference.ModelStock(models, baseValues), MergeTestData.Run(new ModelStockMethod(), models, baseValues), 1e-6);
    }

    [Fact]
    public void Validate_OneModelOrNoBase_Throws()
    {
        var method = new ModelStockMethod();

        Assert.Equal("model_stock merges at least 2 models, got 1", Assert.Throws<ArgumentException>(() => method.Validate(1, true)).Message);
        Assert.Throws<ArgumentException>(() => method.Validate(3, hasBase: false));
        Assert.False(method.IsElementwise);
    }
}
