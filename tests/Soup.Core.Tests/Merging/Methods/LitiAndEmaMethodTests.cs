using Soup.Merging;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class LitiAndEmaMethodTests
{
    [Theory]
    [InlineData(1, 3, 0.3, false)]
    [InlineData(2, 4, 0.75, true)]
    [InlineData(3, 1, 0.5, true)]
    public void Liti_RandomTensors_MatchesReference(int seed, int members, double eta, bool weighted)
    {
        var random = new Random(seed);
        var baseValues = MergeTestData.Random(random, 200);
        var models = Enumerable.Range(0, members).Select(_ => MergeTestData.Random(random, 200)).ToArray();
        var weights = weighted ? Enumerable.Range(0, members).Select(_ => 0.1 + random.NextDouble()).ToArray() : null;

        var actual = MergeTestData.Run(new LitiMethod(weights, eta), models, baseValues);

        MergeTestData.AssertClose(Reference.Liti(models, baseValues, weights, eta), actual);
    }

    [Fact]
    public void Liti_EtaEndpoints_ReturnBaseAndUniformSoup()
    {
        var random = new Random(4);
        var baseValues = MergeTestData.Random(random, 100);
        var models = Enumerable.Range(0, 3).Select(_ => MergeTestData.Random(random, 100)).ToArray();
        var soup = MergeTestData.Run(new LinearMethod(null, true), models);

        Assert.Equal(baseValues, MergeTestData.Run(new LitiMethod(null, 0), models, baseValues));
        MergeTestData.AssertClose(soup, MergeTestData.Run(new LitiMethod(null, 1), models, baseValues), 1e-6);
    }

    [Fact]
    public void Liti_WeightsSummingToZero_FailValidation()
    {
        Assert.Throws<ArgumentException>(() => new LitiMethod([1, -1], 0.5).Validate(2, hasBase: true));
        Assert.Throws<ArgumentException>(() => new LitiMethod(null, 0.5).Validate(2, hasBase: false));
    }

    [Theory]
    [InlineData(5, 0.1)]
    [InlineData(6, 0.9)]
    public void Ema_RandomTensors_MovesTheAnchorTowardTheModel(int seed, double eta)
    {
        var random = new Random(seed);
        var anchor = MergeTestData.Random(random, 200);
        var model = MergeTestData.Random(random, 200);

        var actual = MergeTestData.Run(new EmaMethod(eta), [model], anchor);

        MergeTestData.AssertClose(anchor.Select((a, i) => ((1 - eta) * a) + (eta * model[i])).ToArray(), actual);
    }

    [Fact]
    public void Ema_InPlaceOnTheAnchor_MatchesSeparateOutput()
    {
        var random = new Random(7);
        var anchor = MergeTestData.Random(random, 50);
        var model = MergeTestData.Random(random, 50);
        var expected = MergeTestData.Run(new EmaMethod(0.3), [model], anchor);

        new EmaMethod(0.3).Merge(new MergeChunk
        {
            Tensor = "w", Offset = 0, Length = 50, TensorLength = 50, Members = [model], Base = anchor, Output = anchor,
        });

        Assert.Equal(expected, anchor);
    }

    [Fact]
    public void Ema_TwoModelsOrNoAnchor_Throws()
    {
        var method = new EmaMethod(0.5);

        Assert.Equal("ema merges exactly 1 model, got 2", Assert.Throws<ArgumentException>(() => method.Validate(2, true)).Message);
        Assert.Throws<ArgumentException>(() => method.Validate(1, hasBase: false));
        Assert.True(method.IsElementwise);
    }
}
