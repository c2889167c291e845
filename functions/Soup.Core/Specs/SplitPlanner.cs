using Soup.Core.Jobs;

namespace Soup.Core.Specs;

/// <summary>The roles of a split.</summary>
public static class SplitRoles
{
    /// <summary>Held out from the training domains: in-distribution; the split models are selected on.</summary>
    public const string Validation = "validation";

    /// <summary>Data no member trained on (held-out domains or the test files): out-of-distribution.</summary>
    public const string Test = "test";

    /// <summary>One objective of rewarded soups (a domain or class weighting standing for a reward).</summary>
    public const string Objective = "objective";

    /// <summary>Every role, in the order the schema lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Validation, Test, Objective];
}

/// <summary>One evaluation split as planned: its name, what it stands for and its data.</summary>
public sealed record PlannedSplit(string Name, string Role, DataRef Data, string Description);

/// <summary>
/// Which evaluation splits a spec has and what data each reads: the one rule the validator (which split names exist),
/// the job planner (what an evaluation job scores) and the reports (what each split stands for) all use. Pure, like
/// <see cref="MemberPlanner"/>.
/// </summary>
public static class SplitPlanner
{
    /// <summary>The split of shifted-prompt pairs a pipeline that makes its preferences has (<c>preferences.shifted</c>).</summary>
    public const string ShiftedSplit = "shifted";

    /// <summary>Every evaluation split of the spec, in the spec's order: validation, test (if any), its own.</summary>
    public static IReadOnlyList<PlannedSplit> Splits(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var data = spec.Data;
        var splits = new List<PlannedSplit>
        {
            new("validation", SplitRoles.Validation, Data(spec, data.TrainDomains, DataParts.Out, data.EvalLimit), Describe(data.Dataset, data.TrainDomains, "held-out part")),
        };
        if (data.Layout == DataLayouts.Idx)
        {
            splits.Add(new("test", SplitRoles.Test, Data(spec, null, DataParts.Test, data.EvalLimit), Describe(data.Dataset, null, "test files")));
        }
        else if (data.TestDomains is { Count: > 0 } test)
        {
            splits.Add(new("test", SplitRoles.Test, Data(spec, test, DataParts.All, data.EvalLimit), Describe(data.Dataset, test, "all")));
        }
        else if (spec.Preferences is { } preferences)
        {
            // The pairs the pipeline makes: other prompts of the corpus, and (if asked) prompts from elsewhere; gold labels.
            splits.Add(new("test", SplitRoles.Test, Data(spec, null, DataParts.All, data.EvalLimit) with { Dataset = PairDatasets.Test }, $"{preferences.Corpus}: pairs of other prompts, gold labels"));
            if (preferences.Shifted is { } shifted)
            {
                var from = shifted.Topics is { Count: > 0 } topics ? $"{shifted.Corpus ?? preferences.Corpus}, topics {string.Join(", ", topics)}" : shifted.Corpus ?? preferences.Corpus;
                splits.Add(new(ShiftedSplit, SplitRoles.Test, Data(spec, null, DataParts.All, data.EvalLimit) with { Dataset = PairDatasets.Shifted }, $"{from}: pairs of shifted prompts, gold labels"));
            }
        }

        foreach (var s in spec.Evaluation?.Splits ?? [])
        {
            var dataRef = Data(spec, s.Domains, s.Part, s.Limit) with { Dataset = s.Dataset ?? data.Dataset, Layout = s.Layout ?? data.Layout };
            splits.Add(new(s.Name, s.Role, dataRef, Describe(dataRef.Dataset, s.Domains, s.Part)));
        }

        return splits;
    }

    /// <summary>The data a job reads from the spec's dataset: those domains, that part, at most that many examples.</summary>
    public static DataRef Data(PipelineSpec spec, IReadOnlyList<string>? domains, string part, int? limit)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new()
        {
            Dataset = spec.Data.Dataset,
            Layout = spec.Data.Layout,
            Domains = domains,
            Part = part,
            Limit = limit,
            HoldoutFraction = spec.Data.ValidationFraction,
            SplitSeed = spec.Seed,
        };
    }

    private static string Describe(string dataset, IReadOnlyList<string>? domains, string part) =>
        domains is { Count: > 0 } d ? $"{dataset}, domains {string.Join(", ", d)}, {part}" : $"{dataset}, {part}";
}
