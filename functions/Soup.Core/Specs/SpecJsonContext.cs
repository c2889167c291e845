using System.Text.Json;
using System.Text.Json.Serialization;

namespace Soup.Core.Specs;

/// <summary>
/// Source-generated JSON for specs: camelCase names (read in any case), unknown members rejected, a member given twice
/// (also in two cases, <c>name</c> and <c>NAME</c>) rejected, numbers only as JSON numbers (<c>"2"</c> is a string).
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PipelineSpec))]
internal sealed partial class SpecJsonContext : JsonSerializerContext;
