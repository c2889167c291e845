using Soup.Merging;
using System.Globalization;
using Soup.Core.Jobs;

namespace Soup.Core.Specs;

/// <summary>
/// The rules of the spec's sections beyond the basics: stop rule, auxiliary fine-tunings, evaluation splits, the
/// search space, explicit member settings, and the settings each named recipe needs. Every problem is collected.
/// </summary>
internal static class SpecSectionValidator
{
    /// <summary>The splits every pipeline evaluates.</summary>
    public static readonly IReadOnlyList<string> BuiltInSplits = SpecLimits.EvalSplits;

    public static void Validate(List<SpecProblem> p, PipelineSpec spec)
    {
        var data = spec.Data;
        var members = spec.Members;
        if (data is null || members is null)
        {
            return;
        }

        ValidateEvaluation(p, spec);
        ValidatePreferences(p, spec);
        ValidateStop(p, spec);
        ValidateAuxiliary(p, spec);
        if (members.Search is { } search)
        {
            ValidateSearch(p, search, members);
        }

        if (members.Explicit is { } list)
        {
            ValidateExplicit(p, spec, list);
        }

        ValidateSoup(p, spec);
        ValidateRecipe(p, spec);
    }

    private static void ValidateSoup(List<SpecProblem> p, PipelineSpec spec)
    {
        if (spec.Soup is not { } soup)
        {
            return;
        }

        if (!SoupSelections.Every.Contains(soup.Select))
        {
            p.Add(new("$.soup.select", $"unknown selection '{soup.Select}'; known: {string.Join(", ", SoupSelections.Every)}"));
        }
        else if (soup.MakesGreedy() && spec.Merge?.Method is MergeMethods.Slerp or MergeMethods.Nuslerp or MergeMethods.Ema)
        {
            p.Add(new("$.soup.select", $"a greedy soup merges 1 to {spec.Members.Count} members, which merge method '{spec.Merge.Method}' cannot (it takes a fixed number): use 'linear' or select 'all'"));
        }
        else if (soup.MakesGreedy() && spec.Merge?.Weights is not null)
        {
            p.Add(new("$.soup.select", "a greedy soup chooses its members itself: merge.weights cannot apply to it"));
        }

        if (soup.TowardInit is { } eta && !(eta >= 0 && eta <= 1))
        {
            p.Add(new("$.soup.towardInit", string.Create(CultureInfo.InvariantCulture, $"must be in [0, 1], got {eta}")));
        }

        if (soup.TowardInitSweep is { } sweep)
        {
            if (soup.TowardInit is null)
            {
                p.Add(new("$.soup.towardInitSweep", "sweeps η of WARP's step back toward the init: set soup.towardInit (the η delivered) too"));
            }

            for (var i = 0; i < sweep.Count; i++)
            {
                var value = sweep[i];
                if (!(value > 0 && value < 1))
                    p.Add(new($"$.soup.towardInitSweep[{i}]", string.Create(CultureInfo.InvariantCulture, $"must be in (0, 1) (the merge itself is η = 1, the init η = 0), got {value}")));
                else if (value == soup.TowardInit || sweep.Take(i).Contains(value))
                    p.Add(new($"$.soup.towardInitSweep[{i}]", string.Create(CultureInfo.InvariantCulture, $"η = {value} is made already (soup.towardInit or listed twice)")));
            }
        }

        if (soup.Interpolation is { } line)
        {
            foreach (var (name, value) in new[] { ("from", line.From), ("to", line.To) })
            {
                if (value < 0 || value >= spec.Members.Count)
                {
                    p.Add(new($"$.soup.interpolation.{name}", $"must be a member index between 0 and {spec.Members.Count - 1}, got {value}"));
                }
            }

            if (line.From == line.To)
            {
                p.Add(new("$.soup.interpolation", $"from and to are both member {line.From}: a line needs two members"));
            }

            SpecValidator.Range(p, "$.soup.interpolation.points", line.Points, 3, 101);
            if (line.Morl is { } morl)
            {
                if (spec.Members.Rl is null)
                {
                    p.Add(new("$.soup.interpolation.morl", "MORL baselines are RL fine-tunings on a weighted sum of the two members' rewards: set members.rl"));
                }

                for (var k = 0; k < morl.Count; k++)
                {
                    if (!(morl[k] > 0 && morl[k] < 1))
                    {
                        p.Add(new($"$.soup.interpolation.morl[{k}]", string.Create(CultureInfo.InvariantCulture, $"must be in (0, 1) (the ends are the members themselves), got {morl[k]}")));
                    }
                    else if (morl.Take(k).Contains(morl[k]))
                    {
                        p.Add(new($"$.soup.interpolation.morl[{k}]", string.Create(CultureInfo.InvariantCulture, $"{morl[k]} is listed twice")));
                    }
                }
            }
        }
    }

    /// <summary>Every split name the spec's evaluation has (<see cref="SplitPlanner.Splits"/>).</summary>
    public static IReadOnlyList<string> SplitNames(PipelineSpec spec) => [.. SplitPlanner.Splits(spec).Select(s => s.Name)];

    /// <summary>A generation evaluation: language models only, sampling settings in range, known gold rewards.</summary>
    private static void ValidateGeneration(List<SpecProblem> p, PipelineSpec spec, GenerationSpec g)
    {
        const string path = "$.evaluation.generation";
        if (spec.Data.Layout != DataLayouts.Text)
        {
            p.Add(new(path, $"samples completions from language models: it needs data.layout 'text', not '{spec.Data.Layout}' ({DataLayouts.Task(spec.Data.Layout)})"));
        }

        if (g.Dataset is { } prompts)
        {
            SpecValidator.Dataset(p, $"{path}.dataset", prompts);
        }

        SpecValidator.Range(p, $"{path}.prompts", g.Prompts, 1, SpecLimits.MaxPrompts);
        SpecValidator.Range(p, $"{path}.promptTokens", g.PromptTokens, 1, SpecLimits.MaxGenerationTokens);
        SpecValidator.Range(p, $"{path}.maxNewTokens", g.MaxNewTokens, 1, SpecLimits.MaxGenerationTokens);
        SpecValidator.ContextRoom(p, $"{path}.maxNewTokens", spec.Model, g.Dataset is null ? g.PromptTokens : 1, g.MaxNewTokens);
        SpecValidator.Range(p, $"{path}.keep", g.Keep, 0, SpecLimits.MaxKeptSamples);
        SpecValidator.Range(p, $"{path}.topK", g.TopK, 0, 1_000_000);
        if (!(g.Temperature >= 0 && g.Temperature <= 100))
        {
            p.Add(new($"{path}.temperature", $"must be between 0 (greedy) and 100, got {g.Temperature}"));
        }

        if (!(g.TopP > 0 && g.TopP <= 1))
        {
            p.Add(new($"{path}.topP", $"must be in (0, 1], got {g.TopP}"));
        }

        if (!GenerationReferences.All.Contains(g.KlTo))
        {
            p.Add(new($"{path}.klTo", $"unknown reference '{g.KlTo}'; known: {string.Join(", ", GenerationReferences.All)}"));
        }

        var known = SpecValidator.KnownRewards(spec);
        if (g.Rewards is not { Count: > 0 } rewards)
        {
            p.Add(new($"{path}.rewards", $"name at least one reward: {string.Join(", ", known)}"));
            return;
        }

        for (var r = 0; r < rewards.Count; r++)
        {
            SpecValidator.RewardName(p, $"{path}.rewards[{r}]", rewards[r], [.. rewards.Take(r)], known);
        }
    }

    private static void ValidateEvaluation(List<SpecProblem> p, PipelineSpec spec)
    {
        if (spec.Evaluation?.Generation is { } generation)
        {
            ValidateGeneration(p, spec, generation);
        }

        var splits = spec.Evaluation?.Splits ?? [];
        for (var i = 0; i < splits.Count; i++)
        {
            var split = splits[i];
            var path = $"$.evaluation.splits[{i}]";
            if (split is null)
            {
                p.Add(new(path, "must be an object"));
                continue;
            }

            if (!SpecValidator.NamePattern().IsMatch(split.Name ?? ""))
            {
                p.Add(new($"{path}.name", "required: 1-40 lower-case letters, digits and dashes"));
            }
            else if (BuiltInSplits.Contains(split.Name))
            {
                p.Add(new($"{path}.name", $"'{split.Name}' is a built-in split; choose another name"));
            }
            else if (split.Name == SplitPlanner.ShiftedSplit && spec.Preferences?.Shifted is not null)
            {
                p.Add(new($"{path}.name", $"'{split.Name}' is the split of preferences.shifted; choose another name"));
            }
            else if (splits.Take(i).Any(s => s?.Name == split.Name))
            {
                p.Add(new($"{path}.name", $"split '{split.Name}' is defined twice"));
            }

            var layout = Source(p, path, spec, split.Dataset, split.Layout);
            if (layout is not null)
            {
                SpecValidator.Domains(p, $"{path}.domains", layout, split.Domains, required: true);
                string[] parts = layout == DataLayouts.Idx ? [DataParts.In, DataParts.Out, DataParts.All, DataParts.Test] : [DataParts.In, DataParts.Out, DataParts.All];
                if (!parts.Contains(split.Part))
                {
                    p.Add(new($"{path}.part", $"unknown part '{split.Part}' for layout {layout}; known: {string.Join(", ", parts)}"));
                }
            }

            var roles = SplitRoles.All;
            if (!roles.Contains(split.Role))
            {
                p.Add(new($"{path}.role", $"unknown role '{split.Role}'; known: {string.Join(", ", roles)}"));
            }

            SpecValidator.Positive(p, $"{path}.limit", split.Limit);
        }

        var names = SplitNames(spec);
        if (DataLayouts.All.Contains(spec.Data.Layout) && !names.Contains(spec.Data.EvalSplit))
        {
            var why = spec.Data.EvalSplit == "test"
                ? $"there is no test split: the {spec.Data.Layout} layout needs data.testDomains for one"
                : $"no split is named '{spec.Data.EvalSplit}'";
            p.Add(new("$.data.evalSplit", $"{why}; splits: {string.Join(", ", names)}"));
        }
    }

    /// <summary>
    /// Pairs the pipeline makes (<see cref="PreferencesSpec"/>): only for reward modelling, trained on as
    /// <c>pairs:train</c>; a text corpus, a gold reward, counts and sampling in range; shifted prompts from another
    /// corpus or other topics. A generated dataset named without the section is refused where it is named.
    /// </summary>
    private static void ValidatePreferences(List<SpecProblem> p, PipelineSpec spec)
    {
        foreach (var (at, dataset) in DatasetSources.Of(spec).Where(d => PairDatasets.IsGenerated(d.Dataset)))
        {
            if (at.StartsWith("$.preferences", StringComparison.Ordinal))
                p.Add(new(at, $"'{dataset}' is pairs; the corpus is the text the pairs are made from (a folder or blob: dataset)"));
            else if (spec.Preferences is null)
                p.Add(new(at, $"'{dataset}' names preference pairs the pipeline makes itself: add a preferences section, or name a dataset"));
            else if (at == "$.evaluation.generation.dataset")
                p.Add(new(at, $"'{dataset}' is pairs, not prompts"));
        }

        if (spec.Preferences is not { } pr)
        {
            return;
        }

        const string path = "$.preferences";
        if (spec.Data.Layout != DataLayouts.Preferences)
        {
            p.Add(new(path, $"makes preference pairs for reward models: it needs data.layout '{DataLayouts.Preferences}', not '{spec.Data.Layout}'"));
        }

        if (spec.Data.Dataset != PairDatasets.Train)
        {
            p.Add(new("$.data.dataset", $"a pipeline that makes its preference pairs trains on them: set it to '{PairDatasets.Train}', not '{spec.Data.Dataset}'"));
        }

        if (string.IsNullOrEmpty(pr.Corpus))
        {
            p.Add(new($"{path}.corpus", "required: the text corpus the prompts are cut from (a folder under the workers' data root, or blob:<container>/<prefix>)"));
        }
        else if (!PairDatasets.IsGenerated(pr.Corpus))
        {
            SpecValidator.Dataset(p, $"{path}.corpus", pr.Corpus);
        }

        Topics(p, $"{path}.topics", pr.Topics);
        if (!PairCompletions.All.Contains(pr.Completions))
        {
            p.Add(new($"{path}.completions", $"unknown completions '{pr.Completions}'; known: {string.Join(", ", PairCompletions.All)}"));
        }

        if (pr.Policy is { } policy)
        {
            if (pr.Completions != PairCompletions.Policy)
                p.Add(new($"{path}.policy", $"only '{PairCompletions.Policy}' completions are sampled from a policy; remove it or set completions to '{PairCompletions.Policy}'"));
            else if (!BlobPath.IsSafeRelativeName(policy))
                p.Add(new($"{path}.policy", "must be a blob name in the checkpoints container, e.g. 'bases/policy.safetensors' (no leading '/', no '..')"));
        }

        if (!GoldRewardNames.IsKnown(pr.Reward))
        {
            p.Add(new($"{path}.reward", $"the gold reward that labels the pairs: one of {GoldRewardNames.Describe()}; got '{pr.Reward}'"));
        }

        if (!(pr.Noise >= 0 && pr.Noise <= 0.5))
        {
            p.Add(new($"{path}.noise", $"the share of training labels flipped must be in [0, 0.5], got {pr.Noise}"));
        }

        SpecValidator.Range(p, $"{path}.trainPairs", pr.TrainPairs, 1, SpecLimits.MaxGeneratedPairs);
        SpecValidator.Range(p, $"{path}.testPairs", pr.TestPairs, 1, SpecLimits.MaxGeneratedPairs);
        SpecValidator.Range(p, $"{path}.promptTokens", pr.PromptTokens, 1, SpecLimits.MaxGenerationTokens);
        SpecValidator.Range(p, $"{path}.maxNewTokens", pr.MaxNewTokens, 1, SpecLimits.MaxGenerationTokens);
        SpecValidator.ContextRoom(p, $"{path}.maxNewTokens", spec.Model, pr.PromptTokens, pr.MaxNewTokens);
        SpecValidator.Range(p, $"{path}.topK", pr.TopK, 0, 1_000_000);
        if (!(pr.Temperature > 0 && pr.Temperature <= 100))
        {
            p.Add(new($"{path}.temperature", $"must be in (0, 100] (greedy sampling would give two equal completions, a tie), got {pr.Temperature}"));
        }

        if (!(pr.TopP > 0 && pr.TopP <= 1))
        {
            p.Add(new($"{path}.topP", $"must be in (0, 1], got {pr.TopP}"));
        }

        if (pr.Shifted is { } shifted)
        {
            if (shifted.Corpus is { } corpus && !PairDatasets.IsGenerated(corpus))
            {
                SpecValidator.Dataset(p, $"{path}.shifted.corpus", corpus);
            }

            Topics(p, $"{path}.shifted.topics", shifted.Topics);
            SpecValidator.Range(p, $"{path}.shifted.pairs", shifted.Pairs, 1, SpecLimits.MaxGeneratedPairs);
            if ((shifted.Corpus ?? pr.Corpus) == pr.Corpus)
            {
                if (shifted.Topics is not { Count: > 0 } theirs)
                    p.Add(new($"{path}.shifted", "shifted prompts from the same corpus need other topics: give shifted.topics (and preferences.topics without them), or another shifted.corpus"));
                else if (pr.Topics is not { Count: > 0 } ours)
                    p.Add(new($"{path}.topics", "with shifted topics from the same corpus, list the in-distribution topics too (none of the shifted ones): every file is read otherwise"));
                else if (ours.Intersect(theirs).ToList() is { Count: > 0 } both)
                    p.Add(new($"{path}.shifted.topics", $"topic(s) {string.Join(", ", both.Select(t => $"'{t}'"))} are also in-distribution topics: shifted prompts must come from elsewhere"));
            }
        }
    }

    /// <summary>A corpus's files by relative path: not empty when given, safe names, none twice.</summary>
    private static void Topics(List<SpecProblem> p, string path, IReadOnlyList<string>? topics)
    {
        if (topics is null)
        {
            return;
        }

        if (topics.Count == 0)
        {
            p.Add(new(path, "list at least one file of the corpus, or leave it out to read every file"));
        }

        for (var i = 0; i < topics.Count; i++)
        {
            if (!BlobPath.IsSafeRelativeName(topics[i] ?? ""))
                p.Add(new($"{path}[{i}]", "a file of the corpus, by its path relative to the corpus folder (no leading '/', no '..')"));
            else if (topics.Take(i).Contains(topics[i]))
                p.Add(new($"{path}[{i}]", $"'{topics[i]}' is listed twice"));
        }
    }

    /// <summary>Checks a section's own dataset and layout (each defaulting to the data section's); the layout in effect, or null when unknown.</summary>
    private static string? Source(List<SpecProblem> p, string path, PipelineSpec spec, string? dataset, string? layout)
    {
        if (dataset is not null)
        {
            SpecValidator.Dataset(p, $"{path}.dataset", dataset);
        }

        layout ??= spec.Data.Layout;
        if (DataLayouts.All.Contains(layout))
        {
            if (DataLayouts.All.Contains(spec.Data.Layout) && DataLayouts.Task(layout) != DataLayouts.Task(spec.Data.Layout))
            {
                p.Add(new($"{path}.layout",
                    $"a split of layout {layout} ({DataLayouts.Task(layout)}) cannot score the models a pipeline of layout {spec.Data.Layout} ({DataLayouts.Task(spec.Data.Layout)}) trains"));
            }

            return layout;
        }

        p.Add(new($"{path}.layout", $"unknown layout '{layout}'; known: {string.Join(", ", DataLayouts.All)}"));
        return null;
    }

    private static void ValidateStop(List<SpecProblem> p, PipelineSpec spec)
    {
        if (spec.Stop is not { } stop)
        {
            return;
        }

        if (stop.MinImprovement is null && stop.Target is null)
        {
            p.Add(new("$.stop", "give minImprovement, target or both (or leave stop out)"));
        }

        if (stop.MinImprovement is { } min && !(min >= 0 && min < 1))
        {
            p.Add(new("$.stop.minImprovement", string.Create(CultureInfo.InvariantCulture, $"must be in [0, 1) (an accuracy difference), got {min}")));
        }

        if (stop.Target is { } target && !(target > 0 && target <= 1))
        {
            p.Add(new("$.stop.target", string.Create(CultureInfo.InvariantCulture, $"must be in (0, 1] (an accuracy), got {target}")));
        }

        if (spec.Data.EvalSplit != "validation" && SplitRole(spec, spec.Data.EvalSplit) != "validation")
        {
            p.Add(new("$.stop", $"a stop rule needs data.evalSplit 'validation' (or a split with role validation): stopping on '{spec.Data.EvalSplit}' would select on test data"));
        }
    }

    private static string? SplitRole(PipelineSpec spec, string name) =>
        spec.Evaluation?.Splits?.FirstOrDefault(s => s?.Name == name)?.Role;

    private static void ValidateAuxiliary(List<SpecProblem> p, PipelineSpec spec)
    {
        var tasks = spec.Auxiliary ?? []; // At most SpecLimits.MaxAuxiliary: checked with every list.
        for (var i = 0; i < tasks.Count; i++)
        {
            var task = tasks[i];
            var path = $"$.auxiliary[{i}]";
            if (task is null)
            {
                p.Add(new(path, "must be an object"));
                continue;
            }

            if (!SpecValidator.NamePattern().IsMatch(task.Name ?? ""))
            {
                p.Add(new($"{path}.name", "required: 1-40 lower-case letters, digits and dashes"));
            }
            else if (tasks.Take(i).Any(t => t?.Name == task.Name))
            {
                p.Add(new($"{path}.name", $"auxiliary '{task.Name}' is defined twice"));
            }

            var layout = Source(p, path, spec, task.Dataset, task.Layout);
            if (layout is not null && (task.Domains is not null || layout != spec.Data.Layout))
            {
                SpecValidator.Domains(p, $"{path}.domains", layout, task.Domains, required: true);
            }

            if (task.Domains is { } domains && spec.Data.TestDomains is { } test && domains.Intersect(test).ToList() is { Count: > 0 } leak
                && (task.Dataset ?? spec.Data.Dataset) == spec.Data.Dataset)
            {
                p.Add(new($"{path}.domains", $"test domain(s) {string.Join(", ", leak.Select(d => $"'{d}'"))} must not be trained on, not even by an auxiliary fine-tuning"));
            }

            if (task.Steps is { } steps)
            {
                SpecValidator.Range(p, $"{path}.steps", steps, 1, SpecLimits.MaxSteps);
            }

            Hyperparameters.Check(p, $"{path}.learningRate", Hyperparameters.LearningRate, task.LearningRate);
            SpecValidator.Positive(p, $"{path}.limit", task.Limit);
        }
    }

    private static void ValidateSearch(List<SpecProblem> p, SearchSpace search, MembersSpec members)
    {
        const string path = "$.members.search";
        if (!SearchSampling.All.Contains(search.Sampling))
        {
            p.Add(new($"{path}.sampling", $"unknown sampling '{search.Sampling}'; known: {string.Join(", ", SearchSampling.All)}"));
            return;
        }

        var grid = search.Sampling == SearchSampling.Grid;
        Dimension(p, $"{path}.learningRate", search.LearningRate, Hyperparameters.LearningRate, grid);
        Dimension(p, $"{path}.weightDecay", search.WeightDecay, Hyperparameters.WeightDecay, grid);
        Dimension(p, $"{path}.dropout", search.Dropout, Hyperparameters.Dropout, grid);
        Dimension(p, $"{path}.momentum", search.Momentum, Hyperparameters.Momentum, grid);
        Dimension(p, $"{path}.batchSize", search.BatchSize, Hyperparameters.BatchSize, grid);
        Dimension(p, $"{path}.steps", search.Steps, Hyperparameters.Steps, grid);
        if (search.Optimizer is { } optimizers)
        {
            if (optimizers.Count == 0)
            {
                p.Add(new($"{path}.optimizer", "must list at least one optimizer"));
            }

            for (var i = 0; i < optimizers.Count; i++)
            {
                SpecValidator.Optimizer(p, $"{path}.optimizer[{i}]", optimizers[i]);
            }
        }

        if (search.LearningRate is not null && members.LearningRates is not null)
        {
            p.Add(new("$.members.learningRates", "members.learningRates and members.search.learningRate both set the learning rates: keep one"));
        }

        if (search.Steps is not null && members.AverageStart is { } start
            && (search.Steps.Values ?? [search.Steps.Min ?? 0]).Min() < start)
        {
            p.Add(new("$.members.averageStart", $"members.search.steps can draw fewer steps than averageStart ({start})"));
        }

        if (grid && !p.Any(x => x.Path.StartsWith(path, StringComparison.Ordinal)) && members.Count is > 0 and <= SpecLimits.MaxMembers)
        {
            var size = MemberPlanner.GridSize(search);
            if (size > members.Count)
            {
                p.Add(new("$.members.count", $"the grid has {size} combinations but members.count is {members.Count}: raise the count or use sampling 'random'"));
            }
        }
    }

    private static void Dimension(List<SpecProblem> p, string path, Distribution? d, HyperparameterRange range, bool grid)
    {
        if (d is null)
        {
            return;
        }

        var isRange = d.Min is not null || d.Max is not null;
        if (d.Values is { } values)
        {
            if (isRange || d.Log)
            {
                p.Add(new(path, "give either values or min and max (with log), not both"));
                return;
            }

            if (values.Count == 0)
            {
                p.Add(new($"{path}.values", "must list at least one value"));
            }

            for (var i = 0; i < values.Count; i++)
            {
                Hyperparameters.Check(p, $"{path}.values[{i}]", range, values[i]);
            }

            return;
        }

        if (grid)
        {
            p.Add(new(path, "a grid search needs a list of values for every dimension (ranges are for sampling 'random')"));
            return;
        }

        if (d.Min is not { } min || d.Max is not { } max)
        {
            p.Add(new(path, "give values, or both min and max"));
            return;
        }

        Hyperparameters.Check(p, $"{path}.min", range with { Integer = false }, min);
        Hyperparameters.Check(p, $"{path}.max", range with { Integer = false }, max);
        if (!(min < max))
        {
            p.Add(new(path, string.Create(CultureInfo.InvariantCulture, $"min ({min}) must be below max ({max})")));
        }

        if (d.Log && !(min > 0))
        {
            p.Add(new($"{path}.min", string.Create(CultureInfo.InvariantCulture, $"a log-uniform range must be positive, got min {min}")));
        }
    }

    private static void ValidateExplicit(List<SpecProblem> p, PipelineSpec spec, IReadOnlyList<MemberSettings> list)
    {
        var members = spec.Members;
        if (list.Count != members.Count)
        {
            p.Add(new("$.members.explicit", $"lists {list.Count} member(s) but members.count is {members.Count}: give one entry per member"));
        }

        for (var i = 0; i < list.Count; i++)
        {
            var own = list[i];
            var path = $"$.members.explicit[{i}]";
            if (own is null)
            {
                p.Add(new(path, "must be an object"));
                continue;
            }

            Hyperparameters.Check(p, $"{path}.learningRate", Hyperparameters.LearningRate, own.LearningRate);
            Hyperparameters.Check(p, $"{path}.weightDecay", Hyperparameters.WeightDecay, own.WeightDecay);
            Hyperparameters.Check(p, $"{path}.dropout", Hyperparameters.Dropout, own.Dropout);
            Hyperparameters.Check(p, $"{path}.momentum", Hyperparameters.Momentum, own.Momentum);
            Hyperparameters.Check(p, $"{path}.batchSize", Hyperparameters.BatchSize, own.BatchSize);
            Hyperparameters.Check(p, $"{path}.steps", Hyperparameters.Steps, own.Steps);
            Hyperparameters.Check(p, $"{path}.anchorWeight", Hyperparameters.AnchorWeight, own.AnchorWeight);
            SpecValidator.Optimizer(p, $"{path}.optimizer", own.Optimizer);
            SpecValidator.Average(p, $"{path}.average", own.Average);
            var steps = own.Steps ?? members.Steps;
            if (own.AverageStart is { } start && (start < 1 || start > steps))
            {
                p.Add(new($"{path}.averageStart", $"must be between 1 and the member's steps ({steps}), got {start}"));
            }

            if (own.Seed is < 0)
            {
                p.Add(new($"{path}.seed", $"must be ≥ 0, got {own.Seed}"));
            }

            if (own.Domains is not null && DataLayouts.All.Contains(spec.Data.Layout))
            {
                SpecValidator.Domains(p, $"{path}.domains", spec.Data.Layout, own.Domains, required: true);
                if (spec.Data.TestDomains is { } test && own.Domains.Intersect(test).ToList() is { Count: > 0 } leak)
                {
                    p.Add(new($"{path}.domains", $"test domain(s) {string.Join(", ", leak.Select(d => $"'{d}'"))} must not be trained on"));
                }
            }

            if (own.ClassWeights is { } weights)
            {
                if (DataLayouts.IsText(spec.Data.Layout))
                {
                    p.Add(new($"{path}.classWeights", $"class weights are for classifiers; {DataLayouts.Task(spec.Data.Layout)} has no classes"));
                }
                else if (weights.Count < 2)
                {
                    p.Add(new($"{path}.classWeights", "give one weight per class (at least 2)"));
                }

                for (var c = 0; c < weights.Count; c++)
                {
                    Hyperparameters.Check(p, $"{path}.classWeights[{c}]", Hyperparameters.ClassWeight, weights[c]);
                }

                if (weights.Count > 0 && weights.All(w => w == 0))
                {
                    p.Add(new($"{path}.classWeights", "at least one class weight must be positive"));
                }
            }

            if (own.Auxiliary is { } aux && !(spec.Auxiliary ?? []).Any(t => t?.Name == aux))
            {
                var known = spec.Auxiliary is { Count: > 0 } tasks ? $"known: {string.Join(", ", tasks.Select(t => t?.Name))}" : "the spec has no auxiliary fine-tunings";
                p.Add(new($"{path}.auxiliary", $"no auxiliary fine-tuning is named '{aux}'; {known}"));
            }
        }
    }

    /// <summary>What a named recipe needs, so that a spec cannot claim a recipe its settings do not run.</summary>
    private static void ValidateRecipe(List<SpecProblem> p, PipelineSpec spec)
    {
        switch (spec.Recipe)
        {
            case Recipes.Ratatouille when spec.Auxiliary is not { Count: > 0 }:
                p.Add(new("$.auxiliary", "recipe 'ratatouille' recycles auxiliary fine-tunings as the members' inits: list at least one under auxiliary"));
                break;
            case Recipes.Rewarded:
                if (spec.Soup?.Interpolation is null)
                {
                    p.Add(new("$.soup.interpolation", "recipe 'rewarded' reveals the Pareto front with a λ sweep between two objectives' members: set soup.interpolation (from, to, points)"));
                }

                var objectives = spec.Members.Explicit?
                    .Select(m => string.Join(",", m?.Domains ?? []) + "|" + string.Join(",", (m?.ClassWeights ?? []).Select(w => w.ToString("R", CultureInfo.InvariantCulture)))
                        + "|" + string.Join(",", (m?.Rewards ?? []).Select(t => $"{t?.Reward}:{t?.Weight.ToString("R", CultureInfo.InvariantCulture)}")))
                    .Distinct(StringComparer.Ordinal).Count() ?? 0;
                if (objectives < 2)
                {
                    p.Add(new("$.members.explicit", "recipe 'rewarded' interpolates members trained on different objectives: give members.explicit entries with at least 2 different domains, classWeights or (RL members) rewards"));
                }

                break;
            case Recipes.Diwa when spec.Members.Search is null && spec.Members.Explicit is null && spec.Members.EffectiveLearningRates().Distinct().Count() < 2:
                p.Add(new("$.members.search", "recipe 'diwa' averages members with diverse hyperparameters: give a search space, explicit settings or several learning rates"));
                break;
            case Recipes.Warp:
                if (spec.Members.Rl is { } warpRl ? warpRl.AnchorDecay is null : !(spec.Members.AnchorWeight > 0))
                {
                    p.Add(spec.Members.Rl is null
                        ? new("$.members.anchorWeight", "recipe 'warp' trains with an EMA anchor: set members.anchorWeight above 0")
                        : new("$.members.rl.anchorDecay", "recipe 'warp' trains its RL policies toward an EMA anchor: set members.rl.anchorDecay (e.g. 0.99)"));
                }

                if (spec.Merge?.Method != MergeMethods.Nuslerp)
                {
                    p.Add(new("$.merge.method", "recipe 'warp' merges the members' task vectors by SLERP around the init: set merge.method 'nuslerp' (and members.count 2)"
                        + (spec.Merge?.Method == MergeMethods.Slerp ? "; 'slerp' is mergekit's SLERP between two models, which does not use the init" : "")));
                }

                if (spec.Soup?.TowardInit is null)
                {
                    p.Add(new("$.soup.towardInit", "recipe 'warp' interpolates the merged model back toward the init: set soup.towardInit (η)"));
                }

                break;
            case Recipes.Warm:
                if (spec.Data.Layout != DataLayouts.Preferences)
                {
                    p.Add(new("$.data.layout", "recipe 'warm' averages reward models: set data.layout 'preferences' (JSON Lines of prompt, chosen, rejected)"));
                }

                if (spec.Members.Count < 2 || (spec.Members.Search is null && spec.Members.Explicit is null && spec.Members.EffectiveLearningRates().Distinct().Count() < 2))
                {
                    p.Add(new("$.members", "recipe 'warm' averages at least 2 reward models of diverse hyperparameters: give a search space, explicit settings or several learning rates"));
                }

                if ((spec.Merge?.Method ?? MergeMethods.Linear) != MergeMethods.Linear || (spec.Soup?.Select ?? SoupSelections.All) != SoupSelections.All)
                {
                    p.Add(new("$.merge.method", "recipe 'warm' is the uniform average of every reward model: merge.method 'linear', soup.select 'all'"));
                }

                break;
            case Recipes.Erm when spec.Soup?.Select != SoupSelections.Best:
                p.Add(new("$.soup.select", "recipe 'erm' delivers the best single member: set soup.select 'best'"));
                break;
            case Recipes.Soups when (spec.Soup?.Select ?? SoupSelections.All) is not (SoupSelections.Greedy or SoupSelections.All) || spec.Merge?.Method != MergeMethods.Linear:
                p.Add(new("$.merge.method", "recipe 'soups' averages the members uniformly (merge.method 'linear', soup.select 'all' or 'greedy')"));
                break;
            case Recipes.Iterations when spec.Rounds < 2:
                p.Add(new("$.rounds", "recipe 'iterations' feeds each soup to the next round: set rounds to at least 2"));
                break;
        }
    }
}
