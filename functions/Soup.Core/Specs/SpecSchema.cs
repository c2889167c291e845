using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using Soup.Merging;

namespace Soup.Core.Specs;

/// <summary>
/// The JSON Schema (draft 2020-12) of a version-1 spec, derived from the spec types themselves (so it cannot drift from
/// what the parser reads) with the limits of <see cref="SpecLimits"/> and the known names added. Published in the
/// repository as <c>schema/pipeline.schema.json</c> (a test keeps the file equal to this) and printed by
/// <c>pipeline schema</c>. Rules that span fields (e.g. a quorum above the member count) are checked by the validator only.
/// </summary>
public static class SpecSchema
{
    /// <summary>The schema's <c>$id</c>.</summary>
    public const string Id = "https://soup-pipeline.example/schema/pipeline.schema.json";

    /// <summary>The schema, indented JSON with a trailing newline.</summary>
    public static string Json()
    {
        var options = new JsonSchemaExporterOptions { TransformSchemaNode = AddLimits, TreatNullObliviousAsNonNullable = true };
        var schema = SpecJsonContext.Default.PipelineSpec.GetJsonSchemaAsNode(options).AsObject();
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = Id,
            ["title"] = "Soup pipeline spec, version 1",
            ["description"] = "A pipeline of rounds: fine-tune members from a shared init, merge them into a soup, evaluate, repeat. Unknown fields are rejected.",
        };
        foreach (var (key, value) in schema.ToList())
        {
            schema.Remove(key);
            root[key] = value;
        }

        root["required"] = new JsonArray("name");
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonNode AddLimits(JsonSchemaExporterContext context, JsonNode schema)
    {
        if (schema is not JsonObject node || context.PropertyInfo is not { } property)
            return schema;
        if (SpecLimits.MaxItems(property.DeclaringType.Name, property.Name) is { } maxItems)
            node["maxItems"] = maxItems;
        switch ((property.DeclaringType.Name, property.Name))
        {
            case (nameof(MergeParameters), "lambda"):
                Between(node, -MergeParameters.MaxLambda, MergeParameters.MaxLambda);
                break;
            case (nameof(MergeParameters), "weights") when node["items"] is JsonObject items:
                Between(items, -MergeParameters.MaxWeight, MergeParameters.MaxWeight);
                break;
            case (nameof(PipelineSpec), "version"):
                node["const"] = 1;
                break;
            case (nameof(PipelineSpec), "name"):
                node["pattern"] = "^[a-z0-9][a-z0-9-]{0,39}$"; // ECMA-262 regex: $ is the end of input (no final-newline exception as in .NET)
                break;
            case (nameof(PipelineSpec), "rounds"):
                Between(node, 1, SpecLimits.MaxRounds);
                break;
            case (nameof(PipelineSpec), "model"):
                node["enum"] = Strings(SpecLimits.Models);
                break;
            case (nameof(PipelineSpec), "roundTimeout"):
                node["description"] = $"A TimeSpan (\"hh:mm:ss\" or \"d.hh:mm:ss\") between {SpecLimits.MinRoundTimeout} and {SpecLimits.MaxRoundTimeout}.";
                break;
            case (nameof(PipelineSpec), "stageDeadline"):
                node["description"] = $"A TimeSpan (\"d.hh:mm:ss\"), at least roundTimeout and at most {SpecLimits.MaxStageDeadline}; null: no overall bound.";
                break;
            case (nameof(RetrySpec), "maxAttempts"):
                Between(node, 1, SpecLimits.MaxActivityAttempts);
                break;
            case (nameof(RetrySpec), "firstInterval" or "maxInterval"):
                node["description"] = $"A TimeSpan between {SpecLimits.MinRetryInterval} and {SpecLimits.MaxRetryInterval} (maxInterval at least firstInterval).";
                break;
            case (nameof(PipelineSpec), "recipe"):
                node["enum"] = OrNull(Strings(Recipes.All));
                break;
            case (nameof(DataSpec), "layout"):
                node["enum"] = Strings(Jobs.DataLayouts.All);
                break;
            case (nameof(SoupSpec), "select"):
                node["enum"] = Strings(SoupSelections.Every);
                break;
            case (nameof(SearchSpace), "sampling"):
                node["enum"] = Strings(SearchSampling.All);
                break;
            case (nameof(PipelineSpec), "task"):
                node["enum"] = Strings(Jobs.Tasks.All);
                break;
            case (nameof(SplitSpec), "part"):
                node["enum"] = Strings([Jobs.DataParts.In, Jobs.DataParts.Out, Jobs.DataParts.All, Jobs.DataParts.Test]);
                break;
            case (nameof(SplitSpec), "role"):
                node["enum"] = Strings(SplitRoles.All);
                break;
            case (nameof(LinearProbeSpec) or nameof(MemberSettings), "optimizer"):
                node["enum"] = OrNull(Strings(Jobs.Optimizers.All));
                break;
            case (nameof(MemberSettings), "average"):
                node["enum"] = OrNull(Strings(Jobs.WeightAverages.All));
                break;
            case (nameof(DataSpec), "validationFraction"):
                node["exclusiveMinimum"] = 0;
                node["exclusiveMaximum"] = 1;
                break;
            case (nameof(MembersSpec), "count"):
                Between(node, 1, SpecLimits.MaxMembers);
                break;
            case (nameof(MembersSpec) or nameof(InitSpec), "steps" or "pretrainSteps"):
                Between(node, property.Name == "steps" ? 1 : 0, SpecLimits.MaxSteps);
                break;
            case (nameof(MembersSpec), "batchSize"):
                Between(node, 1, SpecLimits.MaxBatchSize);
                break;
            case (nameof(MembersSpec), "retries"):
                Between(node, 0, SpecLimits.MaxRetries);
                break;
            case (nameof(MembersSpec), "quorum"):
                Between(node, 1, SpecLimits.MaxMembers);
                break;
            case (nameof(MembersSpec), "optimizer"):
                node["enum"] = OrNull(Strings(Jobs.Optimizers.All));
                break;
            case (nameof(MembersSpec), "average"):
                node["enum"] = OrNull(Strings(Jobs.WeightAverages.All));
                break;
            case (nameof(MembersSpec), "dropout"):
                node["minimum"] = 0;
                node["exclusiveMaximum"] = 1;
                break;
            case (nameof(MergeParameters), "method"):
                node["enum"] = Strings(MergeMethodFactory.Names);
                break;
            case (nameof(MergeParameters), "rescale"):
                node["enum"] = Strings(MergeRescales.All);
                break;
        }

        return node;
    }

    private static void Between(JsonObject node, double minimum, double maximum)
    {
        node["minimum"] = minimum;
        node["maximum"] = maximum;
    }

    private static JsonArray OrNull(JsonArray values)
    {
        values.Add(null);
        return values;
    }

    private static JsonArray Strings(IEnumerable<string> values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
}
