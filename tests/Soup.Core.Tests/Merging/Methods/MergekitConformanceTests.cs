using Soup.Merging;

namespace Soup.Core.Tests.Merging.Methods;

/// <summary>
/// Every method mergekit also has, built with no option but those a mergekit config would give (so with mergekit's
/// defaults: normalize, rescale), against <see cref="Reference"/>, the float64 code written from mergekit v0.1.4's
/// semantics: odd sizes, a one-element (0-d) tensor, anti-correlated members and a member equal to the base. The
/// differences that remain are documented choices: DARE's drops come from the product's seeded generator (mergekit's
/// from torch's), TIES keeps at least one entry where mergekit's assertion stops, and ties among equal magnitudes go to
/// the lower index (mergekit's sort leaves them open).
/// </summary>
public sealed class MergekitConformanceTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var shape in new[] { "random", "anti-correlated", "member-is-base" })
        {
            foreach (var size in new[] { 1, 7, 37, 101 })
                data.Add(shape, size);
        }

        return data;
    }

    /// <summary>Three members and a base: random, two members pointing opposite ways from the base, or the first member equal to the base.</summary>
    private static (float[][] Members, float[] Base) Data(string shape, int size)
    {
        var random = new Random((shape.Length * 1000) + size);
        var baseValues = MergeTestData.Random(random, size);
        var members = Enumerable.Range(0, 3).Select(_ => MergeTestData.Random(random, size)).ToArray();
        switch (shape)
        {
            case "anti-correlated":
                members[1] = [.. members[0].Select((v, i) => baseValues[i] - (0.8f * (v - baseValues[i])) + (0.05f * MergeTestData.Random(random, 1)[0]))];
                break;
            case "member-is-base":
                members[0] = (float[])baseValues.Clone();
                break;
        }

        return (members, baseValues);
    }

    private static readonly double[] Weights = [0.7, 0.2, 0.5];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Linear_Normalized(string shape, int size)
    {
        var (members, _) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "linear", Weights = Weights }), members);

        var expected = Enumerable.Range(0, size).Select(i => members.Select((m, k) => Weights[k] * m[i]).Sum() / Weights.Sum()).ToArray();
        MergeTestData.AssertClose(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TaskArithmetic_NotNormalized_Lambda(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "task_arithmetic", Weights = Weights, Lambda = 0.6 }), members, baseValues);

        MergeTestData.AssertClose(Reference.TaskArithmetic(members, baseValues, Weights, 0.6), actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ties_NormalizedByTheElected_KeepsFloorOfDensityTimesN(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "ties", Weights = Weights, Density = 0.5 }), members, baseValues);

        MergeTestData.AssertClose(Reference.Ties(members, baseValues, Weights, normalize: true, 1, 0.5), actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DareLinear_L1Rescaled_NotNormalized(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "dare_linear", Weights = Weights, Density = 0.4, Seed = 3 }), members, baseValues);

        MergeTestData.AssertClose(Reference.DareLinear(members, baseValues, Weights, 1, 0.4, 3, "layer.weight"), actual, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DareTies_L1Rescaled_NotNormalized(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "dare_ties", Weights = Weights, Density = 0.4, Seed = 3 }), members, baseValues);

        MergeTestData.AssertClose(Reference.DareTies(members, baseValues, Weights, normalize: false, 1, 0.4, 3, "layer.weight"), actual, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Slerp_FromTheBaseToOneMember(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "slerp", T = 0.3 }), [members[1]], baseValues);

        MergeTestData.AssertClose(Reference.Slerp(members[1], null, baseValues, 0.3), actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Nuslerp_OfTaskVectors_TFromTheWeights(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        double[] weights = [1, 3];
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "nuslerp", Weights = weights }), [members[0], members[1]], baseValues);

        MergeTestData.AssertClose(Reference.Nuslerp(members[0], members[1], baseValues, 0.5, weights), actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ModelStock_UnclampedT(string shape, int size)
    {
        var (members, baseValues) = Data(shape, size);
        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "model_stock" }), members, baseValues);

        MergeTestData.AssertClose(Reference.ModelStock(members, baseValues), actual, 1e-4);
    }

    [Fact]
    public void Ties_KeepCount_IsMergekitsFloor()
    {
        // 37 entries at density 0.5: int(18.5) = 18 (the tool used to round to 19).
        var random = new Random(37);
        var baseValues = new float[37];
        var member = MergeTestData.Random(random, 37);

        var actual = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "ties", Density = 0.5 }), [member], baseValues);

        Assert.Equal(18, actual.Count(v => v != 0));
    }

    [Fact]
    public void DareL1Rescale_KeepsEachTensorsL1Norm()
    {
        var random = new Random(5);
        var baseValues = new float[200];
        var member = MergeTestData.Random(random, 200);

        var l1 = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "dare_linear", Density = 0.3, Seed = 1 }), [member], baseValues);
        var byDensity = MergeTestData.Run(MergeMethodFactory.Create(new MergeParameters { Method = "dare_linear", Density = 0.3, Seed = 1, Rescale = "density" }), [member], baseValues);

        Assert.Equal(member.Sum(v => Math.Abs((double)v)), l1.Sum(v => Math.Abs((double)v)), 3);
        Assert.Equal(byDensity.Select(v => v != 0), l1.Select(v => v != 0)); // the same drops
        Assert.NotEqual(member.Sum(v => Math.Abs((double)v)), byDensity.Sum(v => Math.Abs((double)v)), 3);
    }

    [Theory]
    [InlineData("slerp", "normalize")]
    [InlineData("model_stock", "rescale")]
    public void OptionsAMethodDoesNotHave_AreRefused(string method, string option)
    {
        var parameters = new MergeParameters { Method = method };
        if (option == "normalize")
            parameters.Normalize = true;
        else
            parameters.Rescale = "l1";

        var error = Assert.Throws<ArgumentException>(() => MergeMethodFactory.Create(parameters));

        Assert.StartsWith($"{method} has no {option} option", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rescale_Unknown_IsRefusedListingTheKnown()
    {
        var error = Assert.Throws<ArgumentException>(() => MergeMethodFactory.Create(new MergeParameters { Method = "dare_ties", Rescale = "l2" }));

        Assert.Equal("unknown rescale 'l2'; known: l1, density, none", error.Message);
    }
}
