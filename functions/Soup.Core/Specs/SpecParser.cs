using System.Text.Json;

namespace Soup.Core.Specs;

/// <summary>
/// Turns spec JSON into a <see cref="PipelineSpec"/>, or into the list of every problem found, each with its JSON path.
/// A spec with any problem must start nothing.
/// </summary>
public static class SpecParser
{
    /// <summary>Parses and validates <paramref name="json"/>.</summary>
    public static SpecParseResult Parse(string json)
    {
        PipelineSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize(json, SpecJsonContext.Default.PipelineSpec);
        }
        catch (JsonException ex)
        {
            return SpecParseResult.Failure(new SpecProblem(ex.Path ?? "$", Describe(ex)));
        }

        if (spec is null)
        {
            return SpecParseResult.Failure(new SpecProblem("$", "the spec must be a JSON object, not null"));
        }

        var problems = SpecValidator.Validate(spec);
        return problems.Count == 0 ? SpecParseResult.Success(spec) : new SpecParseResult(null, problems);
    }

    /// <summary>Reads and parses a spec file; a missing file is reported as a problem, not thrown.</summary>
    public static SpecParseResult ParseFile(string path) =>
        File.Exists(path)
            ? Parse(File.ReadAllText(path))
            : SpecParseResult.Failure(new SpecProblem("$", $"spec file '{path}' does not exist"));

    /// <summary>Serializes a spec as indented JSON (the schema's names).</summary>
    public static string ToJson(PipelineSpec spec) => JsonSerializer.Serialize(spec, SpecJsonContext.Default.PipelineSpec);

    private static string Describe(JsonException ex)
    {
        // The serializer's message repeats the path and appends line info; keep the cause and the position.
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }

        return ex.LineNumber is { } line
            ? $"{message.TrimEnd('.')} (line {line + 1}, position {ex.BytePositionInLine + 1})"
            : message;
    }
}

/// <summary>The outcome of parsing a spec: the spec when valid, else every problem.</summary>
public sealed record SpecParseResult(PipelineSpec? Spec, IReadOnlyList<SpecProblem> Problems)
{
    /// <summary>True when the spec is valid.</summary>
    public bool IsValid => Spec is not null && Problems.Count == 0;

    internal static SpecParseResult Success(PipelineSpec spec) => new(spec, []);

    internal static SpecParseResult Failure(SpecProblem problem) => new(null, [problem]);
}
