using System.Text.RegularExpressions;
using Soup.Core.Merging;

namespace Soup.Core.Specs;

/// <summary>Checks a deserialized spec against the rules and limits of version 1, collecting every problem.</summary>
internal static partial class SpecValidator
{
    public static IReadOnlyList<SpecProblem> Validate(PipelineSpec spec)
    {
        var p = new List<SpecProblem>();
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

        if (spec.RoundTimeout < SpecLimits.MinRoundTimeout || spec.RoundTimeout > SpecLimits.MaxRoundTimeout)
        {
            p.Add(new("$.roundTimeout", $"must be between {SpecLimits.MinRoundTimeout} and {SpecLimits.MaxRoundTimeout}, got {spec.RoundTimeout}"));
        }

        ValidateData(p, spec.Data);
        ValidateInit(p, spec.Init);
        ValidateMembers(p, spec.Members);
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
            // Every round has a base: its init (the pretrained model, the given checkpoint or the previous soup).
            MergeMethodFactory.Create(merge).Validate(members, hasBase: true);
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
            MergeMethodFactory.Create(merge).Validate(members.Count, hasBase: true);
        }
        catch (ArgumentException)
        {
            return; // The merge section is already reported against the member count.
        }

        try
        {
            var fewest = merge with { Weights = merge.Weights?.Take(quorum).ToList() };
            MergeMethodFactory.Create(fewest).Validate(quorum, hasBase: true);
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

        if (!DatasetPattern().IsMatch(data.Dataset ?? ""))
        {
            p.Add(new("$.data.dataset", "required: a dataset folder name (letters, digits, '.', '_', '-'; no path separators)"));
        }

        Positive(p, "$.data.trainLimit", data.TrainLimit);
        Positive(p, "$.data.evalLimit", data.EvalLimit);
        if (!(data.ValidationFraction > 0 && data.ValidationFraction < 1))
        {
            p.Add(new("$.data.validationFraction", $"must be strictly between 0 and 1, got {data.ValidationFraction}"));
        }

        if (!SpecLimits.EvalSplits.Contains(data.EvalSplit))
        {
            p.Add(new("$.data.evalSplit", $"unknown split '{data.EvalSplit}'; known: {string.Join(", ", SpecLimits.EvalSplits)}"));
        }
    }

    private static void ValidateInit(List<SpecProblem> p, InitSpec? init)
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
        if (members.Optimizer is { } optimizer && !Jobs.Optimizers.All.Contains(optimizer))
        {
            p.Add(new("$.members.optimizer", $"unknown optimizer '{optimizer}'; known: {string.Join(", ", Jobs.Optimizers.All)}"));
        }

        if (members.Dropout is { } dropout && !(dropout >= 0 && dropout < 1))
        {
            p.Add(new("$.members.dropout", $"must be in [0, 1), got {dropout}"));
        }

        if (members.Average is { } average && !Jobs.WeightAverages.All.Contains(average))
        {
            p.Add(new("$.members.average", $"unknown average '{average}'; known: {string.Join(", ", Jobs.WeightAverages.All)}"));
        }

        if (members.AverageStart is { } start && (start < 1 || start > members.Steps))
        {
            p.Add(new("$.members.averageStart", $"must be between 1 and members.steps ({members.Steps}), got {start}"));
        }
        if (members.LearningRates is null || members.LearningRates.Count == 0)
        {
            p.Add(new("$.members.learningRates", "must list at least one learning rate"));
        }
        else
        {
            for (var i = 0; i < members.LearningRates.Count; i++)
            {
                LearningRate(p, $"$.members.learningRates[{i}]", members.LearningRates[i]);
            }
        }

        if (!(members.Momentum >= 0 && members.Momentum < 1))
        {
            p.Add(new("$.members.momentum", $"must be in [0, 1), got {members.Momentum}"));
        }

        if (!(members.WeightDecay >= 0 && members.WeightDecay <= 1))
        {
            p.Add(new("$.members.weightDecay", $"must be in [0, 1], got {members.WeightDecay}"));
        }
    }

    private static void Range(List<SpecProblem> p, string path, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            p.Add(new(path, $"must be between {min} and {max}, got {value}"));
        }
    }

    private static void Positive(List<SpecProblem> p, string path, int? value)
    {
        if (value is <= 0)
        {
            p.Add(new(path, $"must be positive when set, got {value}"));
        }
    }

    private static void LearningRate(List<SpecProblem> p, string path, double value)
    {
        if (!(value > 0 && value <= 10))
        {
            p.Add(new(path, $"a learning rate must be in (0, 10], got {value}"));
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex DatasetPattern();
}
