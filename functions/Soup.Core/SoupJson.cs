using System.Text.Json;
using System.Text.Json.Serialization;
using Soup.Core.Jobs;

namespace Soup.Core;

/// <summary>Source-generated JSON for everything that crosses a queue or lands in a blob.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(EvaluationReport))]
[JsonSerializable(typeof(FailureRecord))]
[JsonSerializable(typeof(JobProgress))]
[JsonSerializable(typeof(PoisonMessage))]
public sealed partial class SoupJson : JsonSerializerContext;
