using System.Text.Json.Nodes;
using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary>
/// Hostile or careless specs: oversized lists, absurd numbers, duplicate keys, strings for numbers, names with a final
/// newline. Each is one problem with its path, never an exception or a pipeline that fails later.
/// </summary>
public sealed class SpecBoundsTests
{
    public static TheoryData<string, string, int> Lists => new()
    {
        { "data.trainDomains", "$.data.trainDomains", SpecLimits.MaxDomains },
        { "data.testDomains", "$.data.testDomains", SpecLimits.MaxDomains },
        { "members.learningRates", "$.members.learningRates", SpecLimits.MaxMembers },
        { "merge.weights", "$.merge.weights", SpecLimits.MaxMembers },
        { "members.search.optimizer", "$.members.search.optimizer", SpecLimits.MaxChoices },
        { "members.search.learningRate.values", "$.members.search.learningRate.values", SpecLimits.MaxChoices },
        { "members.explicit", "$.members.explicit", SpecLimits.MaxMembers },
        { "members.explicit.0.classWeights", "$.members.explicit[0].classWeights", SpecLimits.MaxClasses },
        { "members.explicit.0.domains", "$.members.explicit[0].domains", SpecLimits.MaxDomains },
        { "evaluation.splits", "$.evaluation.splits", SpecLimits.MaxSplits },
        { "evaluation.splits.0.domains", "$.evaluation.splits[0].domains", SpecLimits.MaxDomains },
        { "auxiliary", "$.auxiliary", SpecLimits.MaxAuxiliary },
        { "auxiliary.0.domains", "$.auxiliary[0].domains", SpecLimits.MaxDomains },
    };

    [Theory]
    [MemberData(nameof(Lists))]
    public void AListOverItsMaximum_IsOneProblemAtItsPath(string where, string path, int max)
    {
        var atMax = SpecParser.Parse(Spec(j => Fill(j, where, max)));
        var over = SpecParser.Parse(Spec(j => Fill(j, where, max + 1)));

        Assert.DoesNotContain(atMax.Problems, p => p.Message.StartsWith("at most", StringComparison.Ordinal));
        var problem = Assert.Single(over.Problems);
        Assert.Equal(path, problem.Path);
        Assert.Equal($"at most {max} items, got {max + 1}", problem.Message);
    }

    [Fact]
    public void FortyThousandDomains_AreOneProblem_NotFortyThousand()
    {
        var result = SpecParser.Parse(Spec(j => Fill(j, "data.testDomains", 40_000)));

        var problem = Assert.Single(result.Problems);
        Assert.Equal("$.data.testDomains", problem.Path);
        Assert.Equal("at most 64 items, got 40000", problem.Message);
    }

    [Fact]
    public void EveryListInTheSchema_HasAMaximum_ThatTheValidatorApplies()
    {
        var arrays = new List<string>();
        Walk(JsonNode.Parse(SpecSchema.Json())!, "$", arrays);

        Assert.NotEmpty(arrays);
        Assert.All(arrays, a => Assert.EndsWith(" maxItems", a, StringComparison.Ordinal));

        static void Walk(JsonNode node, string path, List<string> arrays)
        {
            if (node is JsonObject o)
            {
                var type = o["type"];
                var isArray = type is JsonArray types ? types.Any(t => (string?)t == "array") : (string?)type == "array";
                if (isArray)
                    arrays.Add(path + (o["maxItems"] is not null ? " maxItems" : " unbounded"));
                foreach (var (key, child) in o)
                {
                    if (child is not null)
                        Walk(child, $"{path}.{key}", arrays);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    if (child is not null)
                        Walk(child, path, arrays);
                }
            }
        }
    }

    [Theory]
    [InlineData("{\"name\": \"a\", \"name\": \"b\"}", "$.name")]
    [InlineData("{\"name\": \"a\", \"NAME\": \"b\"}", "$.NAME")]
    [InlineData("{\"name\": \"a\", \"data\": {\"layout\": \"idx\", \"Layout\": \"rotated\"}}", "$.data.Layout")]
    public void ADuplicateKey_EvenInAnotherCase_IsAProblem_NotLastOneWins(string json, string path)
    {
        var result = SpecParser.Parse(json);

        var problem = Assert.Single(result.Problems);
        Assert.Equal(path, problem.Path);
        Assert.Contains("Duplicate", problem.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("rounds", "\"2\"")]
    [InlineData("seed", "\"7\"")]
    [InlineData("members", "{\"count\": \"4\"}")]
    [InlineData("merge", "{\"lambda\": \"NaN\"}")]
    public void AStringWhereANumberGoes_IsAProblem(string key, string value)
    {
        var result = SpecParser.Parse($"{{\"name\": \"a\", \"{key}\": {value}}}");

        var problem = Assert.Single(result.Problems);
        Assert.StartsWith($"$.{key}", problem.Path, StringComparison.Ordinal);
        Assert.Null(result.Spec);
    }

    [Theory]
    [InlineData("nl\n")]
    [InlineData("nl\r\n")]
    [InlineData("\nnl")]
    [InlineData("a b")]
    public void ANameWithANewlineOrSpace_IsRefused(string name)
    {
        var result = SpecParser.Parse(Spec(j => j["name"] = name));

        Assert.Equal("$.name", Assert.Single(result.Problems).Path);
    }

    [Theory]
    [InlineData("task_arithmetic", 1e308, null, "lambda must be between -100 and 100, got 1E+308")]
    [InlineData("ties", -101.0, null, "lambda must be between -100 and 100, got -101")]
    [InlineData("linear", 1.0, 1e308, "weights must be between -1000 and 1000, got 1E+308 at index 0")]
    public void AbsurdMergeNumbers_AreRefused(string method, double lambda, double? weight, string message)
    {
        var result = SpecParser.Parse(Spec(j =>
        {
            j["merge"]!["method"] = method;
            j["merge"]!["lambda"] = lambda;
            if (weight is { } w)
                j["merge"]!["weights"] = new JsonArray(w, 1.0, 1.0, 1.0);
        }));

        var problem = Assert.Single(result.Problems);
        Assert.Equal("$.merge", problem.Path);
        Assert.Equal(message, problem.Message);
    }

    [Fact]
    public void TheSchema_BoundsLambdaAndWeights()
    {
        var merge = JsonNode.Parse(SpecSchema.Json())!["properties"]!["merge"]!["properties"]!;

        Assert.Equal(100, (double)merge["lambda"]!["maximum"]!);
        Assert.Equal(-100, (double)merge["lambda"]!["minimum"]!);
        Assert.Equal(1000, (double)merge["weights"]!["items"]!["maximum"]!);
        Assert.Equal(SpecLimits.MaxMembers, (int)merge["weights"]!["maxItems"]!);
    }

    /// <summary>A valid spec (rotated layout, so every list can hold domains), edited by <paramref name="edit"/>.</summary>
    private static string Spec(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(SpecParser.ToJson(new PipelineSpec
        {
            Name = "bounds",
            Data = new DataSpec { Layout = "rotated", TrainDomains = ["0", "15"], TestDomains = ["60"] },
        }))!.AsObject();
        edit(json);
        return json.ToJsonString();
    }

    /// <summary>Puts a list of <paramref name="count"/> items at <paramref name="where"/> (dots; a number is a list index).</summary>
    private static void Fill(JsonObject root, string where, int count)
    {
        var parts = where.Split('.');
        JsonNode node = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            var part = parts[i];
            if (int.TryParse(part, out var index))
            {
                var list = node.AsArray();
                while (list.Count <= index)
                    list.Add(new JsonObject());
                node = list[index]!;
                continue;
            }

            var container = node.AsObject();
            if (container[part] is null)
                container[part] = int.TryParse(parts[i + 1], out _) ? new JsonArray() : new JsonObject();
            node = container[part]!;
        }

        var last = parts[^1];
        node.AsObject()[last] = new JsonArray([.. Enumerable.Range(0, count).Select(i => Item(last, i))]);
    }

    private static JsonNode Item(string list, int i) => list switch
    {
        "explicit" => new JsonObject(),
        "splits" => new JsonObject { ["name"] = $"s{i}", ["domains"] = new JsonArray("60") },
        "auxiliary" => new JsonObject { ["name"] = $"a{i}" },
        "optimizer" => "sgd",
        "trainDomains" or "testDomains" or "domains" => $"d{i}",
        _ => 0.5,
    };
}
