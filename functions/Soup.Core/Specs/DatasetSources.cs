namespace Soup.Core.Specs;

/// <summary>Where a spec reads data from: every dataset it names, with its JSON path.</summary>
public static class DatasetSources
{
    /// <summary>The scheme of datasets held in Blob Storage: <c>blob:&lt;container&gt;/&lt;prefix&gt;</c>.</summary>
    public const string BlobScheme = "blob:";

    /// <summary>Every dataset <paramref name="spec"/> names, with its path: the data's, each auxiliary's, each split's, the generation's prompts file and the preference corpora.</summary>
    public static IEnumerable<(string Path, string Dataset)> Of(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        yield return ("$.data.dataset", spec.Data.Dataset);
        var auxiliary = spec.Auxiliary ?? [];
        for (var i = 0; i < auxiliary.Count; i++)
        {
            if (auxiliary[i]?.Dataset is { } dataset)
                yield return ($"$.auxiliary[{i}].dataset", dataset);
        }

        var splits = spec.Evaluation?.Splits ?? [];
        for (var i = 0; i < splits.Count; i++)
        {
            if (splits[i]?.Dataset is { } dataset)
                yield return ($"$.evaluation.splits[{i}].dataset", dataset);
        }

        if (spec.Evaluation?.Generation?.Dataset is { } prompts)
            yield return ("$.evaluation.generation.dataset", prompts);
        if (spec.Preferences?.Corpus is { Length: > 0 } corpus)
            yield return ("$.preferences.corpus", corpus);
        if (spec.Preferences?.Shifted?.Corpus is { } shifted)
            yield return ("$.preferences.shifted.corpus", shifted);
    }

    /// <summary>The container a <c>blob:</c> dataset names, or null for a worker folder name.</summary>
    public static string? Container(string dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.StartsWith(BlobScheme, StringComparison.Ordinal))
            return null;
        var rest = dataset[BlobScheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? rest : rest[..slash];
    }

    /// <summary>Why <paramref name="dataset"/> may not be read here (a container outside <paramref name="allowed"/>), or null.</summary>
    public static string? Problem(string dataset, IReadOnlyCollection<string> allowed)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        return Container(dataset) is { } container && !allowed.Contains(container)
            ? $"container '{container}' is not a dataset container of this deployment (DatasetContainers: {string.Join(", ", allowed)}): datasets are read only from those"
            : null;
    }

    /// <summary>One problem per dataset of <paramref name="spec"/> that names a container outside <paramref name="allowed"/>.</summary>
    public static IReadOnlyList<SpecProblem> Problems(PipelineSpec spec, IReadOnlyCollection<string> allowed) =>
        [.. Of(spec).Select(d => (d.Path, Problem: Problem(d.Dataset, allowed))).Where(d => d.Problem is not null).Select(d => new SpecProblem(d.Path, d.Problem!))];
}
