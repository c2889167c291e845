using System.Text.Json;
using System.Text.Json.Serialization;
using Soup.Core.Jobs;

namespace Soup.Core;

/// <summary>Source-generated JSON for everything that crosses a queue or lands in a blob.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(EvaluationReport))]
[JsonSerializable(typeof(PairsReport))]
[JsonSerializable(typeof(PairsDraw))]
[JsonSerializable(typeof(FailureRecord))]
[JsonSerializable(typeof(JobProgress))]
[JsonSerializable(typeof(PoisonMessage))]
[JsonSerializable(typeof(RlCurve))]
public sealed partial class SoupJson : JsonSerializerContext
{
    /// <summary>The same contracts written on one line (for values that live in checkpoint metadata).</summary>
    public static SoupJson Compact => field ??= new(new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } });
}
