using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary><c>members.optimizer</c>, <c>dropout</c>, <c>average</c> and <c>averageStart</c>: accepted values and every problem at once.</summary>
public sealed class SpecMembersTrainingTests
{
    private static SpecParseResult Parse(string members) =>
        SpecParser.Parse($$"""{ "name": "t", "members": {{members}} }""");

    [Fact]
    public void Parse_KnownSettings_KeepsThem()
    {
        var parsed = Parse("""{ "steps": 100, "optimizer": "adamw", "dropout": 0.25, "average": "ma", "averageStart": 20 }""");

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var members = parsed.Spec!.Members;
        Assert.Equal(("adamw", 0.25, "ma", 20), (members.Optimizer, members.Dropout, members.Average, members.AverageStart));
    }

    [Fact]
    public void Parse_BadSettings_ReportsEachWithItsPath()
    {
        var parsed = Parse("""{ "steps": 100, "optimizer": "rmsprop", "dropout": 1, "average": "swa", "averageStart": 101 }""");

        Assert.False(parsed.IsValid);
        var paths = parsed.Problems.Select(p => p.Path).ToList();
        Assert.Equal(["$.members.average", "$.members.averageStart", "$.members.dropout", "$.members.optimizer"], paths.Order());
        Assert.Contains(parsed.Problems, p => p.Path == "$.members.optimizer" && p.Message.Contains("adamw", StringComparison.Ordinal));
        Assert.Contains(parsed.Problems, p => p.Path == "$.members.averageStart" && p.Message.Contains("100", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_NoneGiven_LeavesThemUnsetSoOlderSpecsKeepTheirHash()
    {
        var spec = Parse("""{ "count": 2 }""").Spec!;

        Assert.Null(spec.Members.Optimizer);
        Assert.DoesNotContain("optimizer", SpecParser.ToJson(spec), StringComparison.Ordinal);
    }
}
