using Soup.Merging;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class SlerpMethodTests
{
    [Theory]
    [InlineData(1, 0.5, false)]
    [InlineData(2, 0.2, false)]
    [InlineData(3, 0.5, true)]
    [InlineData(4, 0.85, true)]
    public void Slerp_RandomTensors_MatchesMergekit_TheBaseIsOneEndpoint(int seed, double t, bool withBase)
    {
        var random = new Random(seed);
        var first = MergeTestData.Random(random, 333);
        var second = MergeTestData.Random(random, 333);
        var baseValues = withBase ? MergeTestData.Random(random, 333) : null;

        var actual = withBase
            ? MergeTestData.Run(SlerpMethod.Slerp(t), [first], baseValues)
            : MergeTestData.Run(SlerpMethod.Slerp(t), [first, second]);

        MergeTestData.AssertClose(Reference.Slerp(first, second, baseValues, t), actual);
    }

    [Theory]
    [InlineData(5, 0.5, false, null)]
    [InlineData(6, 0.3, true, null)]
    [InlineData(7, 0.5, true, new[] { 1.0, 3.0 })]
    [InlineData(8, 0.5, false, new[] { 2.0, -2.0 })]
    public void Nuslerp_RandomTensors_MatchesMergekit_TaskVectorsAroundTheBase(int seed, double t, bool withBase, double[]? weights)
    {
        var random = new Random(seed);
        var first = MergeTestData.Random(random, 257);
        var second = MergeTestData.Random(random, 257);
        var baseValues = withBase ? MergeTestData.Random(random, 257) : null;

        var actual = MergeTestData.Run(SlerpMethod.Nuslerp(t, weights), [first, second], baseValues);

        MergeTestData.AssertClose(Reference.Nuslerp(first, second, baseValues, t, weights), actual);
    }

    [Fact]
    public void Nuslerp_WeightsGiveT_AndAZeroSumGivesAHalf()
    {
        Assert.Equal(0.75, SlerpMethod.Nuslerp(0.5, [1.0, 3.0]).T);
        Assert.Equal(0.5, SlerpMethod.Nuslerp(0.2, [1.0, -1.0]).T);
        Assert.Equal(0.2, SlerpMethod.Nuslerp(0.2, null).T);
    }

    [Fact]
    public void Nuslerp_AMemberEqualToTheBase_InterpolatesLinearly_SlerpFromAZeroVectorDoesNot()
    {
        // A zero task vector: nuslerp's clamped norm gives cos 0, Ω = π/2 (mergekit); the result is sin(tπ/2)·τ₁ + base.
        var random = new Random(9);
        var baseValues = MergeTestData.Random(random, 40);
        var other = MergeTestData.Random(random, 40);

        var actual = MergeTestData.Run(SlerpMethod.Nuslerp(0.5, null), [baseValues, other], baseValues);

        MergeTestData.AssertClose(Reference.Nuslerp(baseValues, other, baseValues, 0.5), actual);
        MergeTestData.AssertClose(baseValues.Select((b, i) => b + (Math.Sin(Math.PI / 4) * (other[i] - b))).ToArray(), actual, 1e-5);
    }

    [Fact]
    public void Merge_OrthogonalUnitVectors_StaysOnTheCircle()
    {
        var actual = MergeTestData.Run(SlerpMethod.Slerp(0.5), [[1f, 0f], [0f, 1f]]);

        MergeTestData.AssertClose(new[] { Math.Sqrt(0.5), Math.Sqrt(0.5) }, actual, 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merge_TAtEndpoints_ReturnsEachModel(bool withBase)
    {
        var random = new Random(5);
        var first = MergeTestData.Random(random, 100);
        var second = MergeTestData.Random(random, 100);
        var baseValues = withBase ? MergeTestData.Random(random, 100) : null;

        MergeTestData.AssertClose(first, MergeTestData.Run(SlerpMethod.Nuslerp(0, null), [first, second], baseValues), 1e-5);
        MergeTestData.AssertClose(second, MergeTestData.Run(SlerpMethod.Nuslerp(1, null), [first, second], baseValues), 1e-5);
        if (withBase)
        {
            MergeTestData.AssertClose(baseValues!, MergeTestData.Run(SlerpMethod.Slerp(0), [first], baseValues), 1e-6);
            MergeTestData.AssertClose(first, MergeTestData.Run(SlerpMethod.Slerp(1), [first], baseValues), 1e-6);
        }
        else
        {
            MergeTestData.AssertClose(first, MergeTestData.Run(SlerpMethod.Slerp(0), [first, second]), 1e-6);
            MergeTestData.AssertClose(second, MergeTestData.Run(SlerpMethod.Slerp(1), [first, second]), 1e-6);
        }
    }

    [Fact]
    public void Merge_ColinearModels_InterpolatesLinearly()
    {
        var random = new Random(6);
        var first = MergeTestData.Random(random, 50);
        var second = first.Select(v => 3 * v).ToArray();

        var actual = MergeTestData.Run(SlerpMethod.Slerp(0.25), [first, second]);

        MergeTestData.AssertClose(first.Select(v => 1.5 * v).ToArray(), actual, 1e-6);
    }

    [Theory]
    [InlineData(0.9997, true)]
    [InlineData(0.999, false)]
    [InlineData(-0.9997, true)]
    public void Merge_NearColinearUnitVectors_LerpsOnlyAboveThreshold(double cos, bool lerp)
    {
        float[] first = [1, 0];
        float[] second = [(float)cos, (float)Math.Sqrt(1 - (cos * cos))];
        var omega = Math.Acos(second[0]);
        var (s0, s1) = lerp ? (0.5, 0.5) : (Math.Sin(omega / 2) / Math.Sin(omega), Math.Sin(omega / 2) / Math.Sin(omega));

        var actual = MergeTestData.Run(SlerpMethod.Slerp(0.5), [first, second]);

        MergeTestData.AssertClose(new[] { s0 + (s1 * second[0]), s1 * second[1] }, actual, 1e-6);
    }

    [Fact]
    public void Merge_IdenticalModels_ReturnsThem()
    {
        var random = new Random(7);
        var model = MergeTestData.Random(random, 64);

        MergeTestData.AssertClose(model, MergeTestData.Run(SlerpMethod.Slerp(0.3), [model, model]), 1e-6);
        MergeTestData.AssertClose(model, MergeTestData.Run(SlerpMethod.Nuslerp(0.3, null), [model, model], MergeTestData.Random(random, 64)), 1e-5);
    }

    [Fact]
    public void Merge_MembersEqualToBase_ReturnsBase()
    {
        var random = new Random(8);
        var baseValues = MergeTestData.Random(random, 64);

        var actual = MergeTestData.Run(SlerpMethod.Nuslerp(0.6, null), [baseValues, baseValues], baseValues);

        Assert.Equal(baseValues, actual);
    }

    [Fact]
    public void Validate_ThreeModels_ThrowsNamingTheCount()
    {
        var method = SlerpMethod.Slerp(0.5);

        var error = Assert.Throws<ArgumentException>(() => method.Validate(3, hasBase: false));

        Assert.Equal("slerp merges exactly 2 models, got 3", error.Message);
        Assert.False(method.IsElementwise);
        method.Validate(2, hasBase: false);
        method.Validate(1, hasBase: true);
        var withBase = Assert.Throws<ArgumentException>(() => method.Validate(2, hasBase: true));
        Assert.Contains("use nuslerp", withBase.Message, StringComparison.Ordinal);
        SlerpMethod.Nuslerp(0.5, null).Validate(2, hasBase: true);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void Create_TOutOfRange_Throws(double t)
    {
        var error = Assert.Throws<ArgumentException>(() => SlerpMethod.Slerp(t));

        Assert.StartsWith("t must be in [0, 1]", error.Message, StringComparison.Ordinal);
    }
}
