using Soup.Core.Specs;

namespace Soup.Orchestration;

/// <summary>The RFC 9457 problem-details body of a rejected spec: every problem with its JSON path.</summary>
public sealed record SpecProblemDetails(string Type, string Title, int Status, string Detail, IReadOnlyList<SpecProblem> Errors)
{
    /// <summary>The body for <paramref name="problems"/>.</summary>
    public static SpecProblemDetails From(IReadOnlyList<SpecProblem> problems) => new(
        "https://github.com/soup-pipeline/docs/spec-invalid",
        "The pipeline spec is invalid",
        400,
        $"{problems.Count} problem(s) found; nothing was started.",
        problems);
}
