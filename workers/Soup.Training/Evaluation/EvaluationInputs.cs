using Soup.Core.Jobs;

namespace Soup.Training.Evaluation;

/// <summary>Checks an evaluation's inputs before any model is built, so that a bad job fails at once and says why.</summary>
internal static class EvaluationInputs
{
    /// <summary>Throws <see cref="ArgumentException"/> for the first problem found.</summary>
    public static void Validate(
        IReadOnlyList<NamedCheckpoint> checkpoints,
        IReadOnlyList<NamedSplit> splits,
        IReadOnlyList<int>? ensemble,
        IReadOnlyList<CheckpointPair>? connectivity)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Any(c => c?.Name is null || c.Tensors is null))
            throw new ArgumentException("Every checkpoint needs a name and tensors.", nameof(checkpoints));
        Validate(checkpoints.Select(c => c.Name).ToList(), splits, ensemble, connectivity);
    }

    /// <summary>Throws <see cref="ArgumentException"/> for the first problem found (checkpoints by name).</summary>
    public static void Validate(
        IReadOnlyList<string> checkpoints,
        IReadOnlyList<NamedSplit> splits,
        IReadOnlyList<int>? ensemble,
        IReadOnlyList<CheckpointPair>? connectivity)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(splits);
        if (checkpoints.Count == 0)
            throw new ArgumentException("There are no checkpoints to evaluate.", nameof(checkpoints));
        if (checkpoints.Any(c => c is null))
            throw new ArgumentException("Every checkpoint needs a name.", nameof(checkpoints));
        ValidateSplits(splits);
        ValidateEnsemble(ensemble ?? [], checkpoints.Count);
        ValidatePairs(connectivity ?? [], checkpoints.Count);
    }

    private static void ValidateSplits(IReadOnlyList<NamedSplit> splits)
    {
        if (splits.Count == 0)
            throw new ArgumentException("There are no splits to evaluate on.", nameof(splits));
        if (splits.Any(s => s?.Name is null || s.Data is null))
            throw new ArgumentException("Every split needs a name and data.", nameof(splits));
        var names = new HashSet<string>(StringComparer.Ordinal);
        var first = splits[0];
        foreach (var split in splits)
        {
            if (!names.Add(split.Name))
                throw new ArgumentException($"Split name '{split.Name}' appears more than once.", nameof(splits));
            if (split.Data.Count == 0)
                throw new ArgumentException($"Split '{split.Name}' has no examples.", nameof(splits));
            if (split.Data.Kind != first.Data.Kind)
                throw new ArgumentException(
                    $"Split '{split.Name}' holds {split.Data.Kind}, but the first split '{first.Name}' holds {first.Data.Kind}.", nameof(splits));
        }
    }

    private static void ValidateEnsemble(IReadOnlyList<int> ensemble, int checkpoints)
    {
        var seen = new HashSet<int>();
        foreach (var index in ensemble)
        {
            if (index < 0 || index >= checkpoints)
                throw new ArgumentException($"Ensemble member {index} is out of range: there are {checkpoints} checkpoints.", nameof(ensemble));
            if (!seen.Add(index))
                throw new ArgumentException($"Ensemble member {index} appears more than once.", nameof(ensemble));
        }
    }

    private static void ValidatePairs(IReadOnlyList<CheckpointPair> connectivity, int checkpoints)
    {
        foreach (var pair in connectivity)
        {
            ArgumentNullException.ThrowIfNull(pair, nameof(connectivity));
            if (pair.A < 0 || pair.A >= checkpoints || pair.B < 0 || pair.B >= checkpoints)
                throw new ArgumentException(
                    $"Connectivity pair ({pair.A}, {pair.B}) is out of range: there are {checkpoints} checkpoints.", nameof(connectivity));
            if (pair.A == pair.B)
                throw new ArgumentException($"Connectivity pair ({pair.A}, {pair.B}) pairs a checkpoint with itself.", nameof(connectivity));
        }
    }
}
