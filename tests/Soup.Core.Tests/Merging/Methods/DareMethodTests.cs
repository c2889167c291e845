using Soup.Merging;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class DareMethodTests
{
    private const string Tensor = "model.layers.3.mlp.down_proj.weight";

    [Theory]
    [InlineData(1, 3, 0.3, 7)]
    [InlineData(2, 2, 0.9, -1)]
    [InlineData(3, 4, 0.5, 12345)]
    public void DareLinear_RandomTensors_MatchesReference(int seed, int members, double density, int dareSeed)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 500);
        var models = Enumerable.Range(0, members).Select(_ => MergeTestData.Random(random, 500)).ToArray();
        var weights = Enumerable.Range(0, members).Select(_ => random.NextDouble()).ToArray();

        var actual = MergeTestData.Run(TaskVectorMethod.DareLinear(weights, 0.8, density, dareSeed), models, baseValues, Tensor);

        MergeTestData.AssertClose(Reference.DareLinear(models, baseValues, weights, 0.8, density, dareSeed, Tensor), actual);
    }

    [Theory]
    [InlineData(4, 3, 0.3, 7, true)]
    [InlineData(5, 5, 0.6, 99, true)]
    [InlineData(6, 3, 0.5, 0, false)]
    public void DareTies_RandomTensors_MatchesReference(int seed, int members, double density, int dareSeed, bool normalize)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 500);
        var models = Enumerable.Range(0, members).Select(_ => MergeTestData.Random(random, 500)).ToArray();
        var weights = Enumerable.Range(0, members).Select(_ => 0.1 + random.NextDouble()).ToArray();

        var actual = MergeTestData.Run(TaskVectorMethod.DareTies(weights, normalize, 1.1, density, dareSeed), models, baseValues, Tensor);

        MergeTestData.AssertClose(Reference.DareTies(models, baseValues, weights, normalize, 1.1, density, dareSeed, Tensor), actual);
    }

    [Fact]
    public void DareLinear_DensityOne_EqualsTaskArithmetic()
    {
        var random = new Random(7);
        var baseValues = MergeTestData.Random(random, 300);
        var models = Enumerable.Range(0, 3).Select(_ => MergeTestData.Random(random, 300)).ToArray();
        double[] weights = [0.5, 0.2, 0.7];

        var dare = MergeTestData.Run(TaskVectorMethod.DareLinear(weights, 1.3, 1, 42), models, baseValues);
        var taskArithmetic = MergeTestData.Run(TaskVectorMethod.TaskArithmetic(weights, 1.3), models, baseValues);

        Assert.Equal(taskArithmetic, dare);
    }

    [Fact]
    public void DareTies_DensityOne_EqualsTiesDensityOne()
    {
        var random = new Random(8);
        var baseValues = MergeTestData.Random(random, 300);
        var models = Enumerable.Range(0, 4).Select(_ => MergeTestData.Random(random, 300)).ToArray();

        var dare = MergeTestData.Run(TaskVectorMethod.DareTies(null, true, 1, 1, 42), models, baseValues);
        var ties = MergeTestData.Run(TaskVectorMethod.Ties(null, true, 1, 1), models, baseValues);

        Assert.Equal(ties, dare);
    }

    [Theory]
    [InlineData("dare_linear")]
    [InlineData("dare_ties")]
    public void Merge_InChunks_EqualsWhole(string name)
    {
        var random = new Random(9);
        var baseValues = MergeTestData.Random(random, 1000);
        var models = Enumerable.Range(0, 3).Select(_ => MergeTestData.Random(random, 1000)).ToArray();
        // Rescaled by 1/density, DARE is elementwise; mergekit's L1 rescale needs the whole tensor's norms.
        var method = MergeMethodFactory.Create(new MergeParameters { Method = name, Density = 0.4, Seed = 5, Rescale = MergeRescales.Density });
        Assert.False(MergeMethodFactory.Create(new MergeParameters { Method = name, Density = 0.4, Seed = 5 }).IsElementwise);
        Assert.True(MergeMethodFactory.Create(new MergeParameters { Method = name, Density = 1, Seed = 5 }).IsElementwise);

        var whole = MergeTestData.Run(method, models, baseValues);
        var twoChunks = MergeTestData.RunChunked(method, models, baseValues, [389]);
        var manyChunks = MergeTestData.RunChunked(method, models, baseValues, [1, 2, 100, 101, 999]);

        Assert.True(method.IsElementwise);
        Assert.Equal(whole, twoChunks);
        Assert.Equal(whole, manyChunks);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    [InlineData(0.9)]
    public void DareLinear_ManyElements_KeepsAboutDensityAndPreservesTheMean(double density)
    {
        const int Length = 200_000;
        var baseValues = new float[Length];
        var random = new Random(10);
        var tau = Enumerable.Range(0, Length).Select(_ => 1f + (random.NextSingle() * 0.5f)).ToArray();

        var actual = MergeTestData.Run(TaskVectorMethod.DareLinear(null, 1, density, 3), [tau], baseValues);

        var keptFraction = actual.Count(v => v != 0) / (double)Length;
        var sigma = Math.Sqrt(density * (1 - density) / Length);
        Assert.InRange(keptFraction, density - (5 * sigma), density + (5 * sigma));
        Assert.InRange(actual.Average(v => (double)v) / tau.Average(v => (double)v), 0.97, 1.03);
    }

    [Fact]
    public void Dare_SeedMemberAndTensor_EachChangeTheDrops()
    {
        var ones = Enumerable.Repeat(1f, 4000).ToArray();
        var zeros = new float[4000];
        float[] Kept(int seed, string tensor, int member)
        {
            var members = Enumerable.Range(0, member + 1).Select(k => k == member ? ones : zeros).ToArray();
            return MergeTestData.Run(TaskVectorMethod.DareLinear(null, 1, 0.5, seed), members, zeros, tensor);
        }

        var reference = Kept(1, "a", 0);

        Assert.Equal(reference, Kept(1, "a", 0));
        Assert.NotEqual(reference, Kept(2, "a", 0));
        Assert.NotEqual(reference, Kept(1, "b", 0));
        Assert.NotEqual(reference, Kept(1, "a", 1));
    }

    [Fact]
    public void Validate_MissingBaseOrWeightMismatch_Throws()
    {
        Assert.Throws<ArgumentException>(() => TaskVectorMethod.DareLinear(null, 1, 0.5, 0).Validate(2, hasBase: false));
        Assert.Throws<ArgumentException>(() => TaskVectorMethod.DareTies([1, 1], true, 1, 0.5, 0).Validate(3, hasBase: true));
        Assert.Throws<ArgumentException>(() => TaskVectorMethod.DareTies(null, true, 1, 0, 0));
    }
}
