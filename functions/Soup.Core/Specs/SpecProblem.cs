namespace Soup.Core.Specs;

/// <summary>One thing wrong with a spec: where (a JSON path such as <c>$.members.count</c>) and what.</summary>
public sealed record SpecProblem(string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Message}";
}
