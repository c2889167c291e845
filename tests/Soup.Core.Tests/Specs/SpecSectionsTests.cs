using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary>Data layouts and domains, evaluation splits, the stop rule, auxiliary fine-tunings, search spaces, explicit members, recipes.</summary>
public sealed class SpecSectionsTests
{
    private static SpecParseResult Parse(string body) => SpecParser.Parse($$"""{ "name": "t", {{body}} }""");

    private static void AssertProblems(SpecParseResult parsed, params string[] paths)
    {
        Assert.False(parsed.IsValid, "the spec should have been refused");
        Assert.Equal(paths.Order(), parsed.Problems.Select(p => p.Path).Order());
    }

    private static string Message(SpecParseResult parsed, string path) =>
        Assert.Single(parsed.Problems, p => p.Path == path).Message;

    [Fact]
    public void Parse_RotatedWithDomainsSearchStopAuxiliaryAndSplits_IsValidAndKeepsEverything()
    {
        var parsed = Parse("""
            "rounds": 3, "stop": { "minImprovement": 0.002, "target": 0.95 },
            "data": { "layout": "rotated", "trainDomains": ["0", "15", "30"], "testDomains": ["75"], "evalSplit": "validation" },
            "init": { "linearProbe": { "steps": 50, "learningRate": 0.01 } },
            "auxiliary": [ { "name": "a45", "domains": ["45"] }, { "name": "a60", "domains": ["60"], "steps": 30 } ],
            "evaluation": { "splits": [ { "name": "d0", "domains": ["0"], "part": "out", "role": "validation" } ] },
            "members": { "count": 6, "search": { "learningRate": { "min": 0.001, "max": 0.1, "log": true }, "dropout": { "values": [0, 0.1, 0.5] }, "batchSize": { "values": [32, 64] } } }
            """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var spec = parsed.Spec!;
        Assert.Equal(["75"], spec.Data.TestDomains!);
        Assert.Equal(2, spec.Auxiliary!.Count);
        Assert.True(spec.Members.Search!.LearningRate!.Log);
        Assert.Equal(0.002, spec.Stop!.MinImprovement);
    }

    [Fact]
    public void Parse_DomainsThatDoNotFitTheLayout_ReportsEachAtItsPath()
    {
        AssertProblems(Parse("""  "data": { "trainDomains": ["0"] }  """), "$.data.trainDomains");
        AssertProblems(Parse("""  "data": { "layout": "rotated" }  """), "$.data.trainDomains", "$.data.evalSplit");
        var parsed = Parse("""  "data": { "layout": "rotated", "trainDomains": ["0", "20", "0"], "testDomains": ["0"] }  """);
        AssertProblems(parsed, "$.data.trainDomains[1]", "$.data.trainDomains[2]", "$.data.testDomains");
        Assert.Contains("0, 15, 30, 45, 60, 75", Message(parsed, "$.data.trainDomains[1]"), StringComparison.Ordinal);
        Assert.Contains("held out", Message(parsed, "$.data.testDomains"), StringComparison.Ordinal);
        AssertProblems(Parse("""  "data": { "layout": "photos" }  """), "$.data.layout");
    }

    [Fact]
    public void Parse_TestSplitWithoutTestData_IsRefusedNamingTheMissingDomains()
    {
        var parsed = Parse("""  "data": { "layout": "rotated", "trainDomains": ["0"], "evalSplit": "test" }  """);

        AssertProblems(parsed, "$.data.evalSplit");
        Assert.Contains("testDomains", Message(parsed, "$.data.evalSplit"), StringComparison.Ordinal);
        Assert.True(Parse("""  "data": { "layout": "rotated", "trainDomains": ["0"], "evalSplit": "validation" }  """).IsValid);
    }

    [Fact]
    public void Parse_BlobDatasetAndCustomPrimarySplit_AreAccepted()
    {
        var parsed = Parse("""
            "data": { "dataset": "blob:datasets/fmnist", "evalSplit": "holdout" },
            "evaluation": { "splits": [ { "name": "holdout", "part": "out", "role": "validation" } ] }
            """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        AssertProblems(Parse("""  "data": { "dataset": "blob:nocontainer" }  """), "$.data.dataset");
    }

    [Fact]
    public void Parse_BadEvaluationSplits_ReportsEveryOne()
    {
        var parsed = Parse("""
            "evaluation": { "splits": [
              { "name": "test" },
              { "name": "a", "part": "train", "role": "reward" },
              { "name": "a", "domains": ["0"] } ] }
            """);

        AssertProblems(parsed, "$.evaluation.splits[0].name", "$.evaluation.splits[1].part", "$.evaluation.splits[1].role", "$.evaluation.splits[2].name", "$.evaluation.splits[2].domains");
    }

    [Fact]
    public void Parse_StopRule_NeedsARuleSaneValuesAndTheValidationSplit()
    {
        AssertProblems(Parse("""  "stop": {}, "data": { "evalSplit": "validation" }  """), "$.stop");
        AssertProblems(Parse("""  "stop": { "minImprovement": -0.1, "target": 1.5 }, "data": { "evalSplit": "validation" }  """), "$.stop.minImprovement", "$.stop.target");
        var onTest = Parse("""  "stop": { "target": 0.9 }  """);
        AssertProblems(onTest, "$.stop");
        Assert.Contains("select on test data", Message(onTest, "$.stop"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadAuxiliary_ReportsNamesDomainsAndLeaksOfTheTestDomain()
    {
        var parsed = Parse("""
            "data": { "layout": "rotated", "trainDomains": ["0"], "testDomains": ["75"], "evalSplit": "validation" },
            "auxiliary": [ { "name": "Bad Name" }, { "name": "x", "domains": ["75"] }, { "name": "x", "steps": 0, "learningRate": 20 } ]
            """);

        AssertProblems(parsed, "$.auxiliary[0].name", "$.auxiliary[1].domains", "$.auxiliary[2].name", "$.auxiliary[2].steps", "$.auxiliary[2].learningRate");
    }

    [Fact]
    public void Parse_BadSearchSpace_ReportsEveryDimensionAtItsPath()
    {
        var parsed = Parse("""
            "members": { "count": 4, "learningRates": [0.1], "search": {
              "learningRate": { "min": 0, "max": 0.1, "log": true },
              "dropout": { "values": [0.1, 1.0] },
              "weightDecay": { "min": 0.1, "max": 0.01 },
              "momentum": { "values": [0.9], "min": 0.1 },
              "batchSize": { "values": [32.5] },
              "steps": { "min": 10 },
              "optimizer": ["sgd", "lion"] } }
            """);

        AssertProblems(
            parsed,
            "$.members.learningRates", "$.members.search.learningRate.min", "$.members.search.learningRate.min", "$.members.search.dropout.values[1]",
            "$.members.search.weightDecay", "$.members.search.momentum", "$.members.search.batchSize.values[0]", "$.members.search.steps",
            "$.members.search.optimizer[1]");
    }

    [Fact]
    public void Parse_GridSearch_NeedsListsAndEnoughMembers()
    {
        AssertProblems(Parse("""  "members": { "count": 4, "search": { "sampling": "grid", "learningRate": { "min": 0.01, "max": 0.1 } } }  """), "$.members.search.learningRate");
        var small = Parse("""  "members": { "count": 5, "search": { "sampling": "grid", "learningRate": { "values": [0.01, 0.1] }, "dropout": { "values": [0, 0.1, 0.2] } } }  """);
        AssertProblems(small, "$.members.count");
        Assert.Contains("6 combinations", Message(small, "$.members.count"), StringComparison.Ordinal);
        Assert.True(Parse("""  "members": { "count": 6, "search": { "sampling": "grid", "learningRate": { "values": [0.01, 0.1] }, "dropout": { "values": [0, 0.1, 0.2] } } }  """).IsValid);
    }

    [Fact]
    public void Parse_ExplicitMembers_OneEntryPerMemberWithValidSettings()
    {
        AssertProblems(Parse("""  "members": { "count": 3, "explicit": [ {}, {} ] }  """), "$.members.explicit");
        var parsed = Parse("""
            "data": { "layout": "rotated", "trainDomains": ["0", "15"], "testDomains": ["75"], "evalSplit": "validation" },
            "members": { "count": 2, "steps": 50, "explicit": [
              { "learningRate": 0, "domains": ["75"], "classWeights": [1], "auxiliary": "none", "averageStart": 60 },
              { "optimizer": "lion", "classWeights": [0, 0], "seed": -1, "steps": 100, "averageStart": 60 } ] }
            """);

        AssertProblems(
            parsed,
            "$.members.explicit[0].learningRate", "$.members.explicit[0].domains", "$.members.explicit[0].classWeights",
            "$.members.explicit[0].auxiliary", "$.members.explicit[0].averageStart", "$.members.explicit[1].optimizer",
            "$.members.explicit[1].classWeights", "$.members.explicit[1].seed");
        Assert.Contains("no auxiliary fine-tunings", Message(parsed, "$.members.explicit[0].auxiliary"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ratatouille", "", "$.auxiliary")]
    [InlineData("rewarded", """, "members": { "count": 2, "explicit": [ { "classWeights": [1, 2] }, { "classWeights": [1, 2] } ] }, "soup": { "interpolation": {} }""", "$.members.explicit")]
    [InlineData("rewarded", """, "members": { "count": 2, "explicit": [ { "classWeights": [1, 2] }, { "classWeights": [2, 1] } ] }""", "$.soup.interpolation")]
    [InlineData("diwa", """, "members": { "learningRates": [0.1, 0.1] }""", "$.members.search")]
    [InlineData("warp", """, "members": { "count": 2 }, "merge": { "method": "nuslerp" }, "soup": { "towardInit": 0.5 }""", "$.members.anchorWeight")]
    [InlineData("erm", "", "$.soup.select")]
    [InlineData("soups", """, "merge": { "method": "ties" }""", "$.merge.method")]
    [InlineData("iterations", """, "rounds": 1""", "$.rounds")]
    [InlineData("stew", "", "$.recipe")]
    public void Parse_RecipeWithoutWhatItNeeds_IsRefusedSayingWhat(string recipe, string rest, string path)
    {
        var parsed = Parse($$"""  "recipe": "{{recipe}}" {{rest}}  """);

        AssertProblems(parsed, path);
    }

    [Fact]
    public void Parse_RewardedWithTwoObjectives_IsValid()
    {
        var parsed = Parse("""
            "recipe": "rewarded", "soup": { "interpolation": { "from": 0, "to": 1, "points": 11 } },
            "members": { "count": 2, "explicit": [ { "classWeights": [1, 2] }, { "classWeights": [2, 1] } ] }
            """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
    }

    [Fact]
    public void Parse_BadSoupSection_ReportsEachProblem()
    {
        AssertProblems(Parse("""  "soup": { "select": "median" }  """), "$.soup.select");
        var slerp = Parse("""  "members": { "count": 2 }, "merge": { "method": "slerp" }, "soup": { "select": "greedy" }  """);
        AssertProblems(slerp, "$.soup.select");
        Assert.Contains("slerp", Message(slerp, "$.soup.select"), StringComparison.Ordinal);
        AssertProblems(
            Parse("""  "members": { "count": 3 }, "soup": { "towardInit": 1.5, "interpolation": { "from": 3, "to": 3, "points": 2 } }  """),
            "$.soup.towardInit", "$.soup.interpolation.from", "$.soup.interpolation.to", "$.soup.interpolation", "$.soup.interpolation.points");
    }

    [Fact]
    public void Parse_TowardInitSweep_NeedsTowardInit_AndEachEtaInsideTheOpenIntervalOnce()
    {
        var valid = Parse("""  "members": { "count": 2 }, "soup": { "towardInit": 0.5, "towardInitSweep": [0.25, 0.75] }  """);
        var alone = Parse("""  "members": { "count": 2 }, "soup": { "towardInitSweep": [0.25] }  """);
        var bad = Parse("""  "members": { "count": 2 }, "soup": { "towardInit": 0.5, "towardInitSweep": [0, 1, 0.5, 0.3, 0.3, -2] }  """);

        Assert.True(valid.IsValid, string.Join("; ", valid.Problems));
        Assert.StartsWith("sweeps η of WARP's step back toward the init", Message(alone, "$.soup.towardInitSweep"), StringComparison.Ordinal);
        AssertProblems(bad, "$.soup.towardInitSweep[0]", "$.soup.towardInitSweep[1]", "$.soup.towardInitSweep[2]", "$.soup.towardInitSweep[4]", "$.soup.towardInitSweep[5]");
        Assert.Equal("η = 0.5 is made already (soup.towardInit or listed twice)", Message(bad, "$.soup.towardInitSweep[2]"));
        Assert.Equal("must be in (0, 1) (the merge itself is η = 1, the init η = 0), got 1", Message(bad, "$.soup.towardInitSweep[1]"));
    }

    [Fact]
    public void Parse_WarpRecipe_NeedsAnchorSlerpAndTowardInit()
    {
        AssertProblems(Parse("""  "recipe": "warp", "members": { "count": 2 }  """), "$.members.anchorWeight", "$.merge.method", "$.soup.towardInit");
        var parsed = Parse("""  "recipe": "warp", "members": { "count": 2, "anchorWeight": 0.1 }, "merge": { "method": "nuslerp" }, "soup": { "towardInit": 0.5 }  """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
    }

    [Fact]
    public void Parse_WarpWithSlerp_IsRefused_NamingNuslerp()
    {
        // mergekit's slerp interpolates between two models and ignores the init; WARP's SLERP is of task vectors around it.
        var problems = Parse("""  "recipe": "warp", "members": { "count": 2, "anchorWeight": 0.1 }, "merge": { "method": "slerp" }, "soup": { "towardInit": 0.5 }  """).Problems;

        var problem = Assert.Single(problems);
        Assert.Equal("$.merge.method", problem.Path);
        Assert.Contains("'nuslerp'", problem.Message, StringComparison.Ordinal);
        Assert.Contains("does not use the init", problem.Message, StringComparison.Ordinal);
    }
}
