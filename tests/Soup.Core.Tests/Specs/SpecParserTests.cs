using System.Text.Json.Nodes;
using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

public sealed class SpecParserTests
{
    [Fact]
    public void ParseFile_QuickstartExample_IsValid()
    {
        var result = SpecParser.ParseFile(FindRepoFile("examples", "quickstart.json"));

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.Empty(result.Problems);
        var spec = result.Spec!;
        Assert.Equal("quickstart", spec.Name);
        Assert.Equal(2, spec.Rounds);
        Assert.Equal(4, spec.Members.Count);
        Assert.Equal([0.01, 0.02, 0.04, 0.08], spec.Members.LearningRates);
        Assert.Equal(0.0001, spec.Members.WeightDecay);
        Assert.Null(spec.Init.Checkpoint);
        Assert.Equal(300, spec.Init.PretrainSteps);
        Assert.Equal(20000, spec.Data.TrainLimit);
        Assert.Equal(TimeSpan.FromMinutes(30), spec.RoundTimeout);
    }

    [Fact]
    public void Parse_CompleteSpec_IsValid()
    {
        var result = SpecParser.Parse(ValidJson());

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.Equal("spec-test", result.Spec!.Name);
    }

    [Fact]
    public void Parse_SeveralSemanticErrors_ReportsEveryProblemWithItsPath()
    {
        var json = ValidJson(j =>
        {
            j["rounds"] = 99;
            j["model"] = "transformer-xl";
            j["members"]!["count"] = 0;
            j["members"]!["learningRates"] = new JsonArray(0.01, -0.5);
        });

        var result = SpecParser.Parse(json);

        Assert.False(result.IsValid);
        Assert.Null(result.Spec);
        Assert.Equal(
            ["$.members.count", "$.members.learningRates[1]", "$.model", "$.rounds"],
            result.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Contains("99", Problem(result, "$.rounds").Message, StringComparison.Ordinal);
        Assert.Contains("transformer-xl", Problem(result, "$.model").Message, StringComparison.Ordinal);
        Assert.Contains("-0.5", Problem(result, "$.members.learningRates[1]").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MalformedJson_ReportsOneProblemWithLine()
    {
        const string Json = "{\n  \"name\": \"x\",\n  \"rounds\": 2,,\n  \"seed\": 1\n}";

        var result = SpecParser.Parse(Json);

        var problem = Assert.Single(result.Problems);
        Assert.False(result.IsValid);
        Assert.StartsWith("$", problem.Path, StringComparison.Ordinal);
        Assert.Contains("line 3", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownProperty_RejectedNamingIt()
    {
        var result = SpecParser.Parse(ValidJson(j => j["members"]!["colour"] = "red"));

        var problem = Assert.Single(result.Problems);
        Assert.Null(result.Spec);
        Assert.Contains("colour", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_StringForRounds_ReportedAtRoundsPath()
    {
        var result = SpecParser.Parse(ValidJson(j => j["rounds"] = "two"));

        var problem = Assert.Single(result.Problems);
        Assert.Null(result.Spec);
        Assert.Equal("$.rounds", problem.Path);
        Assert.Contains("line ", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../other-pipeline/model.safetensors")]
    [InlineData("bases/../../secret.safetensors")]
    [InlineData("bases/./model.safetensors")]
    [InlineData("/bases/model.safetensors")]
    [InlineData("bases//model.safetensors")]
    [InlineData("bases\\model.safetensors")]
    [InlineData("")]
    public void Parse_UnsafeInitCheckpoint_RejectedAtCheckpointPath(string checkpoint)
    {
        var result = SpecParser.Parse(ValidJson(j => j["init"]!["checkpoint"] = checkpoint));

        Assert.Equal("$.init.checkpoint", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public void Parse_SafeInitCheckpoint_Accepted()
    {
        var result = SpecParser.Parse(ValidJson(j => j["init"]!["checkpoint"] = "bases/v2/model.safetensors"));

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.Equal("bases/v2/model.safetensors", result.Spec!.Init.Checkpoint);
    }

    [Fact]
    public void Parse_OnlyName_AppliesDefaults()
    {
        var result = SpecParser.Parse("""{ "name": "minimal" }""");

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        var spec = result.Spec!;
        Assert.Equal(1, spec.Version);
        Assert.Equal(0, spec.Seed);
        Assert.Equal(1, spec.Rounds);
        Assert.Equal("cnn-small", spec.Model);
        Assert.Equal(new DataSpec(), spec.Data);
        Assert.Null(spec.Init.Checkpoint);
        Assert.Equal(200, spec.Init.PretrainSteps);
        Assert.Equal(4, spec.Members.Count);
        Assert.Null(spec.Members.LearningRates);
        Assert.Equal([0.01, 0.02, 0.05, 0.1], spec.Members.EffectiveLearningRates());
        Assert.Equal(0.9, spec.Members.Momentum);
        Assert.Equal("linear", spec.Merge.Method);
        Assert.Equal(TimeSpan.FromMinutes(30), spec.RoundTimeout);
    }

    [Fact]
    public void Parse_MomentumOmitted_DefaultsToPointNine()
    {
        var result = SpecParser.Parse(ValidJson(j => j["members"]!.AsObject().Remove("momentum")));

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.Equal(0.9, result.Spec!.Members.Momentum);
    }

    [Fact]
    public void Parse_NameOmitted_ReportsNameProblem()
    {
        var result = SpecParser.Parse(ValidJson(j => j.Remove("name")));

        Assert.Equal("$.name", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public void Parse_NameNull_ReportsNameProblem()
    {
        var result = SpecParser.Parse(ValidJson(j => j["name"] = null));

        Assert.Equal("$.name", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public void Parse_JsonNull_ReportsOneProblemAtRoot()
    {
        var result = SpecParser.Parse("null");

        Assert.Equal("$", Assert.Single(result.Problems).Path);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Parse_RoundTimeoutBelowMinimum_ReportedAtRoundTimeoutPath()
    {
        var result = SpecParser.Parse(ValidJson(j => j["roundTimeout"] = "00:00:30"));

        Assert.Equal("$.roundTimeout", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public void ParseFile_Missing_ReportsProblemInsteadOfThrowing()
    {
        var result = SpecParser.ParseFile(Path.Combine(Path.GetTempPath(), $"no-such-spec-{Guid.NewGuid():N}.json"));

        Assert.Contains("does not exist", Assert.Single(result.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_ParsedSpec_RoundTripsEveryField()
    {
        var original = new PipelineSpec
        {
            Name = "round-trip",
            Seed = 42,
            Rounds = 3,
            Data = new DataSpec { Dataset = "digits", TrainLimit = 1000, ValidationFraction = 0.1, EvalSplit = "validation", EvalLimit = 200 },
            Init = new InitSpec { Checkpoint = "bases/model.safetensors", PretrainSteps = 0, LearningRate = 0.2 },
            Members = new MembersSpec { Count = 5, Steps = 11, BatchSize = 32, LearningRates = [0.03, 0.3], Momentum = 0.5, WeightDecay = 0.01 },
            RoundTimeout = TimeSpan.FromHours(2),
        };

        var json = SpecParser.ToJson(original);
        var result = SpecParser.Parse(json);

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        var parsed = result.Spec!;
        Assert.Equal(json, SpecParser.ToJson(parsed));
        // Records compare lists by reference, so compare the list apart and the rest with it swapped in.
        Assert.Equal(original.Members.LearningRates, parsed.Members.LearningRates);
        Assert.Equal(original, parsed with { Members = parsed.Members with { LearningRates = original.Members.LearningRates } });
        Assert.Contains("\"roundTimeout\": \"02:00:00\"", json, StringComparison.Ordinal);
        Assert.Contains("\"learningRates\"", json, StringComparison.Ordinal);
    }

    /// <summary>A complete, valid spec as JSON (every field written), edited by <paramref name="edit"/>.</summary>
    private static string ValidJson(Action<JsonObject>? edit = null)
    {
        var json = JsonNode.Parse(SpecParser.ToJson(new PipelineSpec { Name = "spec-test" }))!.AsObject();
        edit?.Invoke(json);
        return json.ToJsonString();
    }

    private static SpecProblem Problem(SpecParseResult result, string path) => result.Problems.Single(p => p.Path == path);

    private static string FindRepoFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine([dir.FullName, .. parts]);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"'{Path.Combine(parts)}' not found above {AppContext.BaseDirectory}");
    }
}
