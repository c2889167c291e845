using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary><c>members.quorum</c> and <c>members.retries</c>: defaults, limits and contradictions with the merge.</summary>
public sealed class SpecMembersResilienceTests
{
    private static SpecParseResult Parse(string members, string merge = """{ "method": "linear" }""") =>
        SpecParser.Parse($$"""{ "name": "q", "members": {{members}}, "merge": {{merge}} }""");

    [Fact]
    public void Parse_NeitherGiven_QuorumIsEveryMemberAndOneRetry()
    {
        var parsed = Parse("""{ "count": 5 }""");

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        Assert.Null(parsed.Spec!.Members.Quorum);
        Assert.Equal(5, parsed.Spec.Members.EffectiveQuorum());
        Assert.Equal(1, parsed.Spec.Members.EffectiveRetries());
    }

    [Fact]
    public void Parse_NeitherGiven_SpecHashUnchangedByTheNewFields()
    {
        // Absent fields serialize as absent, so specs written before quorum/retries existed keep their hash.
        var spec = Parse("""{ "count": 5 }""").Spec!;

        Assert.DoesNotContain("quorum", SpecParser.ToJson(spec), StringComparison.Ordinal);
        Assert.DoesNotContain("retries", SpecParser.ToJson(spec), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_QuorumAndRetriesGiven_KeepsThem()
    {
        var parsed = Parse("""{ "count": 4, "quorum": 3, "retries": 0 }""");

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        Assert.Equal(3, parsed.Spec!.Members.EffectiveQuorum());
        Assert.Equal(0, parsed.Spec.Members.EffectiveRetries());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(5)]
    public void Parse_QuorumOutsideOneToCount_ReportsQuorumPath(int quorum)
    {
        var problem = Assert.Single(Parse($$"""{ "count": 4, "quorum": {{quorum}} }""").Problems);

        Assert.Equal("$.members.quorum", problem.Path);
        Assert.Contains("between 1 and members.count (4)", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(SpecLimits.MaxRetries + 1)]
    public void Parse_RetriesOutOfRange_ReportsRetriesPath(int retries)
    {
        var problem = Assert.Single(Parse($$"""{ "count": 4, "retries": {{retries}} }""").Problems);

        Assert.Equal("$.members.retries", problem.Path);
    }

    [Fact]
    public void Parse_SlerpWithQuorumOne_ReportsQuorumContradiction()
    {
        var problem = Assert.Single(Parse("""{ "count": 2, "quorum": 1 }""", """{ "method": "slerp" }""").Problems);

        Assert.Equal("$.members.quorum", problem.Path);
        Assert.Contains("slerp", problem.Message, StringComparison.Ordinal);
        Assert.Contains("exactly 2", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SlerpWithThreeMembers_ReportsMergeOnceNotQuorum()
    {
        var problem = Assert.Single(Parse("""{ "count": 3, "quorum": 2 }""", """{ "method": "slerp" }""").Problems);

        Assert.Equal("$.merge", problem.Path);
    }

    [Fact]
    public void Parse_ModelStockWithQuorumOne_ReportsQuorumContradiction()
    {
        var problem = Assert.Single(Parse("""{ "count": 4, "quorum": 1 }""", """{ "method": "model_stock" }""").Problems);

        Assert.Equal("$.members.quorum", problem.Path);
    }

    [Fact]
    public void Parse_LinearWeightsWithQuorumBelowCount_IsValid() =>
        Assert.True(Parse("""{ "count": 3, "quorum": 2 }""", """{ "method": "linear", "weights": [1, 2, 3] }""").IsValid);

    [Fact]
    public void Parse_QuorumAndCountBothWrong_ReportsCountOnly()
    {
        var problems = Parse("""{ "count": 0, "quorum": 3 }""").Problems;

        Assert.Contains(problems, p => p.Path == "$.members.count");
        Assert.DoesNotContain(problems, p => p.Path == "$.members.quorum");
    }
}
