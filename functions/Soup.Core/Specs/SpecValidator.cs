using System.Text.RegularExpressions;
using Soup.Merging;

namespace Soup.Core.Specs;

/// <summary>Checks a deserialized spec against the rules and limits of version 1, collecting every problem.</summary>
internal static partial class SpecValidator
{
    public static IReadOnlyList<SpecProblem> Validate(PipelineSpec spec)
    {
        var p = new List<SpecProblem>();
        SpecListLimits.Check(p, spec);
        if (p.Count > 0)
        {
            return p; // Oversized lists are not looked into: every other check stays linear in a bounded spec.
        }

        if (spec.Version != 1)
        {
            p.Add(new("$.version", $"unsupported spec version {spec.Version}; this pipeline reads version 1"));
        }

        if (!NamePattern().IsMatch(spec.Name ?? ""))
        {
            p.Add(new("$.name", "required: 1-40 characters, lower-case letters, digits and dashes, starting with a letter or digit"));
        }

        Range(p, "$.rounds", spec.Rounds, 1, SpecLimits.MaxRounds);
        if (!SpecLimits.Models.Contains(spec.Model))
        {
            p.Add(new("$.model", $"unknown model '{spec.Model}'; known: {string.Join(", ", SpecLimits.Models)}"));
        }
        else if (spec.Data is { Layout: { } layout } && Jobs.DataLayouts.All.Contains(layout)
            && Jobs.DataLayouts.IsText(layout) != SpecLimits.TextModels.Contains(spec.Model))
        {
            // The data's layout is the task: images are classified, text modelled, preference pairs rewarded.
            var fitting = Jobs.DataLayouts.IsText(layout) ? SpecLimits.TextModels : SpecLimits.ImageModels;
            p.Add(new("$.model", $"model '{spec.Model}' does not fit the {layout} layout of $.data; models for it: {string.Join(", ", fitting)}"));
        }

        if (spec.RoundTimeout < SpecLimits.MinRoundTimeout || spec.RoundTimeout > SpecLimits.MaxRoundTimeout)
        {
            p.Add(new("$.roundTimeout", $"must be between {SpecLimits.MinRoundTimeout} and {SpecLimits.MaxRoundTimeout}, got {spec.RoundTimeout}"));
        }

        if (spec.StageDeadline is { } overall && (overall < spec.RoundTimeout || overall > SpecLimits.MaxStageDeadline))
        {
            p.Add(new("$.stageDeadline", $"must be between the round timeout ({spec.RoundTimeout}) and {SpecLimits.MaxStageDeadline}, got {overall}"));
        }

        if (spec.Retry is { } retry)
        {
            Range(p, "$.retry.maxAttempts", retry.MaxAttempts, 1, SpecLimits.MaxActivityAttempts);
            if (retry.FirstInterval < SpecLimits.MinRetryInterval || retry.FirstInterval > SpecLimits.MaxRetryInterval)
            {
                p.Add(new("$.retry.firstInterval", $"must be between {SpecLimits.MinRetryInterval} and {SpecLimits.MaxRetryInterval}, got {retry.FirstInterval}"));
            }

            if (retry.MaxInterval < retry.FirstInterval || retry.MaxInterval > SpecLimits.MaxRetryInterval)
            {
                p.Add(new("$.retry.maxInterval", $"must be between firstInterval ({retry.FirstInterval}) and {SpecLimits.MaxRetryInterval}, got {retry.MaxInterval}"));
            }
        }

        if (spec.Task is { } task)
        {
            if (!Jobs.Tasks.All.Contains(task))
            {
                p.Add(new("$.task", $"unknown task '{task}'; known: {string.Join(", ", Jobs.Tasks.All)}"));
            }
            else if (spec.Data is { Layout: { } taskLayout } && Jobs.DataLayouts.All.Contains(taskLayout) && Jobs.DataLayouts.TaskName(taskLayout) != task)
            {
                var layouts = Jobs.DataLayouts.All.Where(l => Jobs.DataLayouts.TaskName(l) == task);
                p.Add(new("$.task", $"task '{task}' needs data.layout {string.Join(" or ", layouts.Select(l => $"'{l}'"))}; data.layout '{taskLayout}' makes {Jobs.DataLayouts.TaskName(taskLayout)}"));
            }
        }

        if (spec.Recipe is { } recipe && !Recipes.All.Contains(recipe))
        {
            p.Add(new("$.recipe", $"unknown recipe '{recipe}'; known: {string.Join(", ", Recipes.All)}"));
        }

        ValidateData(p, spec.Data);
        ValidateInit(p, spec.Init, spec.Members?.Optimizer);
        TextTaskSettings(p, spec);
        RewardModels(p, spec);
        Rl(p, spec);
        ValidateMembers(p, spec.Members);
        SpecSectionValidator.Validate(p, spec);
        ValidateMerge(p, spec.Merge, spec.Members?.Count ?? 0);
        ValidateQuorum(p, spec.Members, spec.Merge);

        return p;
    }

    private static void ValidateMerge(List<SpecProblem> p, MergeParameters? merge, int members)
    {
        if (merge is null)
        {
            p.Add(new("$.merge", "must be an object"));
            return;
        }

        if (members < 1)
        {
            return; // The member count is already reported; the method cannot be checked against it.
        }

        try
        {
            // Every round has a base, its init (the pretrained model, the given checkpoint or the previous soup), and
            // gives it to the methods that use one (not to slerp, which with a base would start from it).
            MergeMethodFactory.Create(merge).Validate(members, hasBase: MergeMethodFactory.UsesBase(merge.Method));
        }
        catch (ArgumentException ex)
        {
            p.Add(new("$.merge", ex.Message));
        }
    }

    /// <summary>
    /// The quorum must be a member count the round can merge: between 1 and the count, and enough for the method
    /// (SLERP needs exactly 2, Model Stock at least 2, EMA exactly 1), weights cut to the members that may land.
    /// </summary>
    private static void ValidateQuorum(List<SpecProblem> p, MembersSpec? members, MergeParameters? merge)
    {
        if (members is null)
        {
            return;
        }

        Range(p, "$.members.retries", members.EffectiveRetries(), 0, SpecLimits.MaxRetries);
        if (members.Quorum is not { } quorum || members.Count < 1 || members.Count > SpecLimits.MaxMembers)
        {
            return;
        }

        if (quorum < 1 || quorum > members.Count)
        {
            p.Add(new("$.members.quorum", $"must be between 1 and members.count ({members.Count}), got {quorum}"));
            return;
        }

        if (quorum == members.Count || merge is null)
        {
            return;
        }

        try
        {
            MergeMethodFactory.Create(merge).Validate(members.Count, hasBase: MergeMethodFactory.UsesBase(merge.Method));
        }
        catch (ArgumentException)
        {
            return; // The merge section is already reported against the member count.
        }

        try
        {
            var fewest = merge with { Weights = merge.Weights?.Take(quorum).ToList() };
            MergeMethodFactory.Create(fewest).Validate(quorum, hasBase: MergeMethodFactory.UsesBase(fewest.Method));
        }
        catch (ArgumentException ex)
        {
            p.Add(new("$.members.quorum", $"a round may merge as few as {quorum} member(s), which merge method '{merge.Method}' cannot: {ex.Message}"));
        }
    }

    private static void ValidateData(List<SpecProblem> p, DataSpec? data)
    {
        if (data is null)
        {
            p.Add(new("$.data", "must be an object"));
            return;
        }

        Dataset(p, "$.data.dataset", data.Dataset);

        Positive(p, "$.data.trainLimit", data.TrainLimit);
        Positive(p, "$.data.evalLimit", data.EvalLimit);
        if (!(data.ValidationFraction > 0 && data.ValidationFraction < 1))
        {
            p.Add(new("$.data.validationFraction", $"must be strictly between 0 and 1, got {data.ValidationFraction}"));
        }

        if (!Jobs.DataLayouts.All.Contains(data.Layout))
        {
            p.Add(new("$.data.layout", $"unknown layout '{data.Layout}'; known: {string.Join(", ", Jobs.DataLayouts.All)}"));
            return;
        }

        Domains(p, "$.data.trainDomains", data.Layout, data.TrainDomains, required: true);
        Domains(p, "$.data.testDomains", data.Layout, data.TestDomains, required: false);
        if (data.TrainDomains is { } train && data.TestDomains is { } test && train.Intersect(test).ToList() is { Count: > 0 } both)
        {
            p.Add(new("$.data.testDomains", $"domain(s) {string.Join(", ", both.Select(d => $"'{d}'"))} are also training domains: a test domain must be held out"));
        }
    }

    /// <summary>
    /// A setting for classifiers that language modelling cannot take: a linear probe (a language model's head is its token
    /// embedding; a reward model's scalar head can be probed). Class weights are refused per member.
    /// </summary>
    private static void TextTaskSettings(List<SpecProblem> p, PipelineSpec spec)
    {
        if (spec.Data?.Layout is not { } layout || !Jobs.DataLayouts.IsText(layout))
        {
            return;
        }

        if (layout == Jobs.DataLayouts.Text && spec.Init?.LinearProbe is not null)
        {
            p.Add(new("$.init.linearProbe", "a language model's head is its token embedding: there is no head to probe (remove linearProbe)"));
        }
    }

    /// <summary>
    /// Members trained by reinforcement learning: language models only, AdamW, no weight average; RLOO's settings in
    /// range; the reward a weighted sum of known rewards (gold, or reward models the spec declares).
    /// </summary>
    private static void Rl(List<SpecProblem> p, PipelineSpec spec)
    {
        if (spec.Members?.Rl is not { } rl)
        {
            var listed = spec.Members?.Explicit ?? [];
            for (var m = 0; m < listed.Count; m++)
            {
                if (listed[m]?.Rewards is not null)
                {
                    p.Add(new($"$.members.explicit[{m}].rewards", "a member's rewards are what reinforcement learning optimises: set members.rl"));
                }
            }

            return;
        }

        const string path = "$.members.rl";
        if (spec.Data?.Layout is { } layout && layout != Jobs.DataLayouts.Text)
        {
            p.Add(new(path, $"reinforcement learning fine-tunes language models: it needs data.layout 'text' (the prompts), not '{layout}' ({Jobs.DataLayouts.Task(layout)})"));
        }

        if (spec.Members.Optimizer is { } optimizer && optimizer != Jobs.Optimizers.AdamW)
        {
            p.Add(new("$.members.optimizer", $"RL members are trained with AdamW; remove optimizer '{optimizer}' or set 'adamw'"));
        }

        if (spec.Members.Average is { } average && average != Jobs.WeightAverages.None)
        {
            p.Add(new("$.members.average", $"RL members keep no weight average ('{average}'); WARP's moving average is members.rl.anchorDecay"));
        }

        if (spec.Members.LearningRates is null && spec.Members.Search?.LearningRate is null && (spec.Members.Explicit is not { Count: > 0 } rows || rows.Any(m => m?.LearningRate is null)))
        {
            p.Add(new("$.members.learningRates", "RL members are trained with AdamW: give their learning rates (members.learningRates, a search range or each member's), e.g. 1e-4 to 1e-3; the defaults are SGD's"));
        }

        Range(p, $"{path}.samples", rl.Samples, 2, 64);
        Range(p, $"{path}.promptsPerStep", rl.PromptsPerStep, 1, SpecLimits.MaxPrompts);
        Range(p, $"{path}.promptTokens", rl.PromptTokens, 1, SpecLimits.MaxGenerationTokens);
        Range(p, $"{path}.maxNewTokens", rl.MaxNewTokens, 1, SpecLimits.MaxGenerationTokens);
        ContextRoom(p, $"{path}.maxNewTokens", spec.Model, rl.PromptTokens, rl.MaxNewTokens);
        var unused = new List<(string Path, double? Value)> { ("$.members.dropout", spec.Members.Dropout), ("$.members.anchorWeight", spec.Members.AnchorWeight) };
        unused.AddRange((spec.Members.Explicit ?? []).SelectMany((m, i) => new[] { ($"$.members.explicit[{i}].dropout", m?.Dropout), ($"$.members.explicit[{i}].anchorWeight", m?.AnchorWeight) }));
        if (spec.Members.Search?.Dropout is not null)
        {
            unused.Add(("$.members.search.dropout", 1));
        }

        foreach (var (at, value) in unused.Where(u => u.Value is { } v && v != 0))
        {
            p.Add(new(at, $"RL members do not use {at[(at.LastIndexOf('.') + 1)..]} (their KL to the anchor is members.rl.klCoefficient); remove it"));
        }
        if (!(rl.KlCoefficient >= 0 && rl.KlCoefficient <= 100))
        {
            p.Add(new($"{path}.klCoefficient", $"must be between 0 and 100, got {rl.KlCoefficient}"));
        }

        if (rl.AnchorDecay is { } decay && !(decay >= 0 && decay < 1))
        {
            p.Add(new($"{path}.anchorDecay", $"must be in [0, 1) (null: the anchor is the init), got {decay}"));
        }

        var known = KnownRewards(spec);
        var perMember = spec.Members.Explicit ?? [];
        for (var m = 0; m < perMember.Count; m++)
        {
            if (perMember[m]?.Rewards is { } own)
            {
                RewardTerms(p, $"$.members.explicit[{m}].rewards", own, known);
            }
        }

        if (perMember.Count == 0 || perMember.Any(m => m?.Rewards is null))
        {
            RewardTerms(p, $"{path}.rewards", rl.Rewards, known);
        }

        var track = rl.Track ?? [];
        for (var t = 0; t < track.Count; t++)
        {
            RewardName(p, $"{path}.track[{t}]", track[t], [.. track.Take(t)], known);
        }
    }

    /// <summary>
    /// Prompts of <paramref name="promptTokens"/> and completions of <paramref name="maxNewTokens"/> must fit the
    /// model's context together (a prompt is cut from the left only to make room, never to nothing).
    /// </summary>
    internal static void ContextRoom(List<SpecProblem> p, string path, string model, int promptTokens, int maxNewTokens)
    {
        if (SpecLimits.TextContext(model) is { } context && promptTokens + maxNewTokens > context)
        {
            p.Add(new(path, $"{promptTokens} prompt tokens + {maxNewTokens} new tokens exceed {model}'s context of {context} tokens"));
        }
    }

    /// <summary>A reward as a weighted sum: at least one known reward (gold or a declared reward model), none twice, finite weights.</summary>
    private static void RewardTerms(List<SpecProblem> p, string path, IReadOnlyList<Jobs.RewardTerm?>? terms, IReadOnlyList<string> known)
    {
        if (terms is not { Count: > 0 })
        {
            p.Add(new(path, $"name at least one reward, e.g. [{{ \"reward\": \"conciseness\", \"weight\": 1 }}]; known: {string.Join(", ", known)}"));
            return;
        }

        for (var t = 0; t < terms.Count; t++)
        {
            RewardName(p, $"{path}[{t}].reward", terms[t]?.Reward, [.. terms.Take(t).Select(x => x?.Reward)], known);
            if (terms[t] is { } term && !double.IsFinite(term.Weight))
            {
                p.Add(new($"{path}[{t}].weight", $"must be a finite number, got {term.Weight}"));
            }
        }
    }

    /// <summary>Every name a reward can be given by: the gold rewards, then the spec's reward models.</summary>
    internal static IReadOnlyList<string> KnownRewards(PipelineSpec spec) =>
        [.. Jobs.GoldRewardNames.All, .. (spec.RewardModels ?? []).Select(m => m?.Name).OfType<string>().Where(n => NamePattern().IsMatch(n) && !Jobs.GoldRewardNames.IsKnown(n)).Distinct()];

    /// <summary>One reward named where rewards are listed: known, and not already listed (<paramref name="earlier"/>).</summary>
    internal static void RewardName(List<SpecProblem> p, string path, string? name, IReadOnlyList<string?> earlier, IReadOnlyList<string> known)
    {
        if (name is null || !(known.Contains(name) || Jobs.GoldRewardNames.IsKnown(name)))
        {
            p.Add(new(path, $"unknown reward '{name}': name a gold reward or one of $.rewardModels; known: {string.Join(", ", known)}, {Jobs.GoldRewardNames.ConcisenessFamily}"));
        }
        else if (earlier.Contains(name))
        {
            p.Add(new(path, $"'{name}' is listed twice"));
        }
    }

    /// <summary>
    /// The reward models rewards can name: each a unique name that is not a gold reward's, a checkpoint blob name, and
    /// a text model (null: the pipeline's, which must then be one).
    /// </summary>
    private static void RewardModels(List<SpecProblem> p, PipelineSpec spec)
    {
        var models = spec.RewardModels ?? [];
        for (var m = 0; m < models.Count; m++)
        {
            var path = $"$.rewardModels[{m}]";
            if (models[m] is not { } model)
            {
                p.Add(new(path, "must be an object: { \"name\": ..., \"checkpoint\": ..., \"model\": ... }"));
                continue;
            }

            if (!NamePattern().IsMatch(model.Name ?? ""))
            {
                p.Add(new($"{path}.name", "required: 1-40 characters, lower-case letters, digits and dashes, starting with a letter or digit"));
            }
            else if (Jobs.GoldRewardNames.IsKnown(model.Name))
            {
                p.Add(new($"{path}.name", $"'{model.Name}' is a gold reward's name; give the reward model another"));
            }
            else if (models.Take(m).Any(x => x?.Name == model.Name))
            {
                p.Add(new($"{path}.name", $"'{model.Name}' is declared twice"));
            }

            if (!BlobPath.IsSafeRelativeName(model.Checkpoint ?? ""))
            {
                p.Add(new($"{path}.checkpoint", "required: a blob name in the checkpoints container, e.g. 'pipelines/warm-1/round-1/soup.safetensors' (no leading '/', no '..')"));
            }

            var size = model.Model ?? spec.Model;
            if (!SpecLimits.TextModels.Contains(size))
            {
                p.Add(new($"{path}.model", $"a reward model is a GPT-2 size: one of {string.Join(", ", SpecLimits.TextModels)}, got '{size}'{(model.Model is null ? " (the pipeline's model)" : "")}"));
            }
        }
    }

    /// <summary>
    /// Domains must fit the layout: none for <c>idx</c>; for <c>rotated</c> the known angles; for <c>folders</c> folder
    /// names. No duplicates.
    /// </summary>
    internal static void Domains(List<SpecProblem> p, string path, string layout, IReadOnlyList<string>? domains, bool required)
    {
        if (!Jobs.DataLayouts.HasDomains(layout))
        {
            if (domains is not null)
            {
                p.Add(new(path, $"the {layout} layout has no domains; use layout 'rotated' or 'folders' for domains"));
            }

            return;
        }

        if (domains is null || domains.Count == 0)
        {
            if (required || domains is not null)
            {
                p.Add(new(path, $"the {layout} layout needs at least one domain"));
            }

            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < domains.Count; i++)
        {
            var domain = domains[i];
            if (layout == Jobs.DataLayouts.Rotated && !Jobs.DataLayouts.RotatedDomains.Contains(domain))
            {
                p.Add(new($"{path}[{i}]", $"unknown rotated domain '{domain}'; known: {string.Join(", ", Jobs.DataLayouts.RotatedDomains)}"));
            }
            else if (!DatasetPattern().IsMatch(domain ?? ""))
            {
                p.Add(new($"{path}[{i}]", "a domain is a folder name (letters, digits, '.', '_', '-')"));
            }
            else if (!seen.Add(domain!))
            {
                p.Add(new($"{path}[{i}]", $"domain '{domain}' is listed twice"));
            }
        }
    }

    /// <summary>A dataset folder name, <c>blob:&lt;container&gt;/&lt;prefix&gt;</c>, or pairs the pipeline makes (<see cref="Jobs.PairDatasets"/>; where they may be named is checked with the preferences section).</summary>
    internal static void Dataset(List<SpecProblem> p, string path, string? dataset)
    {
        if (dataset is not null && Jobs.PairDatasets.IsGenerated(dataset))
        {
            if (!Jobs.PairDatasets.All.Contains(dataset))
            {
                p.Add(new(path, $"unknown generated pairs '{dataset}'; known: {string.Join(", ", Jobs.PairDatasets.All)}"));
            }
        }
        else if (dataset is not null && dataset.StartsWith("blob:", StringComparison.Ordinal))
        {
            var rest = dataset["blob:".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !BlobPath.IsSafeRelativeName(rest[(slash + 1)..]))
            {
                p.Add(new(path, $"a blob dataset is 'blob:<container>/<prefix>', e.g. 'blob:datasets/fashion-mnist'; got '{dataset}'"));
            }
        }
        else if (!DatasetPattern().IsMatch(dataset ?? ""))
        {
            p.Add(new(path, "required: a dataset folder name (letters, digits, '.', '_', '-'; no path separators) or 'blob:<container>/<prefix>'"));
        }
    }

    private static void ValidateInit(List<SpecProblem> p, InitSpec? init, string? membersOptimizer)
    {
        if (init is null)
        {
            p.Add(new("$.init", "must be an object"));
            return;
        }

        if (init.Checkpoint is { } checkpoint && !BlobPath.IsSafeRelativeName(checkpoint))
        {
            p.Add(new("$.init.checkpoint", "must be a blob name in the checkpoints container, e.g. 'bases/model.safetensors' (no leading '/', no '..')"));
        }

        Range(p, "$.init.pretrainSteps", init.PretrainSteps, 0, SpecLimits.MaxSteps);
        LearningRate(p, "$.init.learningRate", init.LearningRate);
        if (init.LinearProbe is { } probe)
        {
            Range(p, "$.init.linearProbe.steps", probe.Steps, 1, SpecLimits.MaxSteps);
            LearningRate(p, "$.init.linearProbe.learningRate", probe.LearningRate);
            Optimizer(p, "$.init.linearProbe.optimizer", probe.Optimizer);
        }
    }

    private static void ValidateMembers(List<SpecProblem> p, MembersSpec? members)
    {
        if (members is null)
        {
            p.Add(new("$.members", "must be an object"));
            return;
        }

        Range(p, "$.members.count", members.Count, 1, SpecLimits.MaxMembers);
        Range(p, "$.members.steps", members.Steps, 1, SpecLimits.MaxSteps);
        Range(p, "$.members.batchSize", members.BatchSize, 1, SpecLimits.MaxBatchSize);
        Optimizer(p, "$.members.optimizer", members.Optimizer);
        Hyperparameters.Check(p, "$.members.dropout", Hyperparameters.Dropout, members.Dropout);
        Average(p, "$.members.average", members.Average);
        if (members.AverageStart is { } start && (start < 1 || start > members.Steps))
        {
            p.Add(new("$.members.averageStart", $"must be between 1 and members.steps ({members.Steps}), got {start}"));
        }

        Hyperparameters.Check(p, "$.members.emaDecay", Hyperparameters.EmaDecay, members.EmaDecay);
        Hyperparameters.Check(p, "$.members.anchorWeight", Hyperparameters.AnchorWeight, members.AnchorWeight);
        if (members.LearningRates is { } rates)
        {
            if (rates.Count == 0)
            {
                p.Add(new("$.members.learningRates", "must list at least one learning rate (or leave it out)"));
            }

            for (var i = 0; i < rates.Count; i++)
            {
                LearningRate(p, $"$.members.learningRates[{i}]", rates[i]);
            }
        }

        Hyperparameters.Check(p, "$.members.momentum", Hyperparameters.Momentum, members.Momentum);
        Hyperparameters.Check(p, "$.members.weightDecay", Hyperparameters.WeightDecay, members.WeightDecay);
    }

    internal static void Optimizer(List<SpecProblem> p, string path, string? optimizer)
    {
        if (optimizer is not null && !Jobs.Optimizers.All.Contains(optimizer))
        {
            p.Add(new(path, $"unknown optimizer '{optimizer}'; known: {string.Join(", ", Jobs.Optimizers.All)}"));
        }
    }

    internal static void Average(List<SpecProblem> p, string path, string? average)
    {
        if (average is not null && !Jobs.WeightAverages.All.Contains(average))
        {
            p.Add(new(path, $"unknown average '{average}'; known: {string.Join(", ", Jobs.WeightAverages.All)}"));
        }
    }

    internal static void Range(List<SpecProblem> p, string path, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            p.Add(new(path, $"must be between {min} and {max}, got {value}"));
        }
    }

    internal static void Positive(List<SpecProblem> p, string path, int? value)
    {
        if (value is <= 0)
        {
            p.Add(new(path, $"must be positive when set, got {value}"));
        }
    }

    internal static void LearningRate(List<SpecProblem> p, string path, double value) =>
        Hyperparameters.Check(p, path, Hyperparameters.LearningRate, value);

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9-]{0,39}\z")]
    internal static partial Regex NamePattern();

    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z")]
    private static partial Regex DatasetPattern();
}
