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
    public void Merge_RandomTensors_MatchesReference(int seed, double t, bool withBase)
    {
        var random = new Random(seed);
        var first = MergeTestData.Random(random, 333);
        var second = MergeTestData.Random(random, 333);
        var baseValues = withBase ? MergeTestData.Random(random, 333) : null;

        var actual = MergeTestData.Run(new SlerpMethod(t), [first, second], baseValues);

        MergeTestData.AssertClose(Reference.Slerp(first, second, baseValues, t), actual);
    }

    [Fact]
    public void Merge_OrthogonalUnitVectors_StaysOnTheCircle()
    {
        var actual = MergeTestData.Run(new SlerpMethod(0.5), [[1f, 0f], [0f, 1f]]);

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

        MergeTestData.AssertClose(first, MergeTestData.Run(new SlerpMethod(0), [first, second], baseValues), 1e-6);
        MergeTestData.AssertClose(second, MergeTestData.Run(new SlerpMethod(1), [first, second], baseValues), 1e-6);
    }

    [Fact]
    public void Merge_ColinearModels_InterpolatesLinearly()
    {
        var random = new Random(6);
        var first = MergeTestData.Random(random, 50);
        var second = first.Select(v => 3 * v).ToArray();

        var actual = MergeTestData.Run(new SlerpMethod(0.25), [first, second]);

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

        var actual = MergeTestData.Run(new SlerpMethod(0.5), [first, second]);

        MergeTestData.AssertClose(new[] { s0 + (s1 * second[0]), s1 * second[1] }, actual, 1e-6);
    }

    [Fact]
    public void Merge_IdenticalModels_ReturnsThem()
    {
        var random = new Random(7);
        var model = MergeTestData.Random(random, 64);

        MergeTestData.AssertClose(model, MergeTestData.Run(new SlerpMethod(0.3), [model, model]), 1e-6);
        MergeTestData.AssertClose(model, MergeTestData.Run(new SlerpMethod(0.3), [model, model], MergeTestData.Random(random, 64)), 1e-6);
    }

    [Fact]
    public void Merge_MembersEqualToBase_ReturnsBase()
    {
        var random = new Random(8);
        var baseValues = MergeTestData.Random(random, 64);

        var actual = MergeTestData.Run(new SlerpMethod(0.6), [baseValues, baseValues], baseValues);

        Assert.Equal(baseValues, actual);
    }

    [Fact]
    public void Validate_ThreeModels_ThrowsNamingTheCount()
    {
        var method = new SlerpMethod(0.5);

        var error = Assert.Throws<ArgumentException>(() => method.Validate(3, hasBase: false));

        Assert.Equal("slerp merges exactly 2 models, got 3", error.Message);
        Assert.False(method.IsElementwise);
        method.Validate(2, hasBase: false);
        method.Validate(2, hasBase: true);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void Create_TOutOfRange_Throws(double t)
    {
        var error = Assert.Throws<ArgumentException>(() => new SlerpMethod(t));

        Assert.StartsWith("t must be in [0, 1]", error.Message, StringComparison.Ordinal);
    }
}
