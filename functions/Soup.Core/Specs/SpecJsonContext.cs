using System.Text.Json;
using System.Text.Json.Serialization;

namespace Soup.Core.Specs;

/// <summary>Source-generated JSON for specs: camelCase names, unknown members rejected.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PipelineSpec))]
internal sealed partial class SpecJsonContext : JsonSerializerContext;
