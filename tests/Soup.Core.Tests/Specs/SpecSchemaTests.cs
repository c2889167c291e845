using System.Text.Json;
using System.Text.Json.Nodes;
using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary>The published JSON Schema of the spec stays equal to what the spec types and limits say.</summary>
public sealed class SpecSchemaTests
{
    [Fact]
    public void PublishedSchema_EqualsTheSchemaOfTheSpecTypes()
    {
        var published = File.ReadAllText(Path.Combine(RepositoryPaths.Root(), "schema", "pipeline.schema.json"));

        Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse(published), JsonNode.Parse(SpecSchema.Json())),
            "schema/pipeline.schema.json is stale: regenerate it with `pipeline schema > schema/pipeline.schema.json`");
    }

    [Fact]
    public void Schema_NamesEveryFieldOfASerializedSpecAndNoOther()
    {
        var schema = JsonNode.Parse(SpecSchema.Json())!.AsObject();
        var spec = JsonNode.Parse(JsonSerializer.Serialize(new PipelineSpec { Name = "x", Init = new InitSpec { Checkpoint = "c" }, Members = new MembersSpec { Quorum = 1, Retries = 1 } }, JsonSerializerOptions.Web))!.AsObject();

        AssertSameFields(schema, spec, "$");
    }

    [Fact]
    public void Schema_CarriesTheLimitsAndKnownNames()
    {
        var properties = JsonNode.Parse(SpecSchema.Json())!["properties"]!;

        Assert.Equal(SpecLimits.MaxRounds, (int)properties["rounds"]!["maximum"]!);
        Assert.Equal(SpecLimits.MaxMembers, (int)properties["members"]!["properties"]!["count"]!["maximum"]!);
        Assert.Equal(SpecLimits.Models, properties["model"]!["enum"]!.AsArray().Select(n => (string)n!));
        Assert.Contains("slerp", properties["merge"]!["properties"]!["method"]!["enum"]!.AsArray().Select(n => (string)n!));
        Assert.False((bool)JsonNode.Parse(SpecSchema.Json())!["additionalProperties"]!);
    }

    private static void AssertSameFields(JsonObject schema, JsonObject value, string path)
    {
        var properties = schema["properties"]!.AsObject();
        Assert.Equal(value.Select(p => p.Key).Order(), properties.Select(p => p.Key).Order());
        foreach (var (name, child) in value)
        {
            if (child is JsonObject nested && properties[name]!["properties"] is not null)
                AssertSameFields(properties[name]!.AsObject(), nested, $"{path}.{name}");
        }
    }
}
