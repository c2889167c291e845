using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary>The spec's merge section uses the names of <c>pipeline merge</c> and is checked against the members.</summary>
public sealed class SpecMergeTests
{
    private static string Spec(string merge, int members = 4) =>
        $$"""{ "name": "m", "members": { "count": {{members}} }, "merge": {{merge}} }""";

    [Fact]
    public void Parse_TiesWithDensityAndLambda_IsValidAndKeepsParameters()
    {
        var parsed = SpecParser.Parse(Spec("""{ "method": "ties", "density": 0.2, "lambda": 0.8 }"""));
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        Assert.Equal("ties", parsed.Spec!.Merge.Method);
        Assert.Equal(0.2, parsed.Spec.Merge.Density);
        Assert.Equal(0.8, parsed.Spec.Merge.Lambda);
        Assert.Equal(0.5, parsed.Spec.Merge.T); // omitted: default
    }

    [Fact]
    public void Parse_PerMemberDensitiesRescaleAndNormalize_MergekitsNames()
    {
        var parsed = SpecParser.Parse(Spec("""{ "method": "dare_ties", "densities": [0.5, 0.6, 0.7, 0.8], "rescale": "density", "normalize": true }"""));
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        Assert.Equal([0.5, 0.6, 0.7, 0.8], parsed.Spec!.Merge.Densities);
        Assert.Equal("density", parsed.Spec.Merge.Rescale);
        Assert.True(parsed.Spec.Merge.Normalize);

        var wrongCount = Assert.Single(SpecParser.Parse(Spec("""{ "method": "ties", "densities": [0.5, 0.6] }""")).Problems);
        Assert.Equal("$.merge", wrongCount.Path);
        Assert.Contains("2 densities for 4 members", wrongCount.Message, StringComparison.Ordinal);
        var badRescale = Assert.Single(SpecParser.Parse(Spec("""{ "method": "ties", "rescale": "l3" }""")).Problems);
        Assert.Contains("l3", badRescale.Message, StringComparison.Ordinal);
        Assert.Null(SpecParser.Parse(Spec("""{ "method": "ties" }""")).Spec!.Merge.Normalize); // mergekit's default for the method
    }

    [Fact]
    public void Parse_SlerpWithFourMembers_ReportsMergeProblem()
    {
        var parsed = SpecParser.Parse(Spec("""{ "method": "slerp" }"""));
        var problem = Assert.Single(parsed.Problems);
        Assert.Equal("$.merge", problem.Path);
        Assert.Contains("exactly 2", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SlerpWithTwoMembers_IsValid() =>
        Assert.True(SpecParser.Parse(Spec("""{ "method": "slerp", "t": 0.3 }""", members: 2)).IsValid);

    [Fact]
    public void Parse_UnknownMethod_ListsKnownMethods()
    {
        var problem = Assert.Single(SpecParser.Parse(Spec("""{ "method": "frankenmerge" }""")).Problems);
        Assert.Equal("$.merge", problem.Path);
        Assert.Contains("model_stock", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WeightsNotMatchingMembers_ReportsMergeProblem()
    {
        var problem = Assert.Single(SpecParser.Parse(Spec("""{ "method": "linear", "weights": [1, 2] }""")).Problems);
        Assert.Equal("$.merge", problem.Path);
        Assert.Contains("2 weight(s) for 4 member(s)", problem.Message, StringComparison.Ordinal);
    }
}
