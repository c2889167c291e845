using System.Globalization;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.Training.FineTuning;

/// <summary>How one member is fine-tuned: the model and the job's <see cref="TrainSettings"/>.</summary>
/// <param name="Model">A name from <see cref="ModelFactory.KnownModels"/>, e.g. "cnn-small".</param>
/// <param name="Settings">The optimization settings; their doc comments are the spec.</param>
public sealed record FineTuneOptions(string Model, TrainSettings Settings)
{
    /// <summary>The largest interval between resumption checkpoints that <see cref="TrainSettings.CheckpointEvery"/> = 0 picks.</summary>
    public const int MaxDefaultCheckpointEvery = 50;

    /// <summary>
    /// Steps between resumption checkpoints: <see cref="TrainSettings.CheckpointEvery"/>, or when that is 0 about a tenth
    /// of the steps (rounded up) but at most <see cref="MaxDefaultCheckpointEvery"/>.
    /// </summary>
    public int CheckpointInterval => Settings.CheckpointEvery > 0
        ? Settings.CheckpointEvery
        : Math.Clamp((Settings.Steps + 9) / 10, 1, MaxDefaultCheckpointEvery);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range and its value.</summary>
    /// <param name="objective">What is trained: the batch size may not exceed its examples, and the task checks the model and its own settings.</param>
    public void Validate(TrainingObjective objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(Settings);
        var s = Settings;
        if (!Optimizers.All.Contains(s.Optimizer))
            Fail(nameof(s.Optimizer), $"Unknown optimizer '{s.Optimizer}'. Known optimizers: {string.Join(", ", Optimizers.All)}.");
        // The ranges a spec is validated against (Hyperparameters): a job from any source meets the same bounds.
        InRange(nameof(s.Steps), Hyperparameters.Steps, s.Steps);
        InRange(nameof(s.BatchSize), Hyperparameters.BatchSize, s.BatchSize);
        if (s.BatchSize > objective.Count)
            Fail(nameof(s.BatchSize), $"Batch size {s.BatchSize} is larger than the training data ({objective.Count} examples).");
        InRange(nameof(s.LearningRate), Hyperparameters.LearningRate, s.LearningRate);
        InRange(nameof(s.Momentum), Hyperparameters.Momentum, s.Momentum);
        InRange(nameof(s.WeightDecay), Hyperparameters.WeightDecay, s.WeightDecay);
        InRange(nameof(s.Dropout), Hyperparameters.Dropout, s.Dropout);
        if (!WeightAverages.All.Contains(s.Average))
            Fail(nameof(s.Average), $"Unknown Average '{s.Average}'. Known averages: {string.Join(", ", WeightAverages.All)}.");
        if (s.AverageStart < 1 || s.AverageStart > s.Steps)
            Fail(nameof(s.AverageStart), $"AverageStart must be in [1, Steps = {s.Steps}], was {s.AverageStart}.");
        InRange(nameof(s.EmaDecay), Hyperparameters.EmaDecay, s.EmaDecay);
        InRange(nameof(s.AnchorWeight), Hyperparameters.AnchorWeight, s.AnchorWeight);
        if (s.CheckpointEvery < 0)
            Fail(nameof(s.CheckpointEvery), $"CheckpointEvery must not be negative, was {s.CheckpointEvery}.");
        objective.Validate(this);
    }

    /// <summary>Validates the settings for image classification on <paramref name="data"/> (see <see cref="Validate(TrainingObjective)"/>).</summary>
    public void Validate(ILabelledImages data)
    {
        using var objective = new ImageClassification(data, Settings?.ClassWeights);
        Validate(objective);
    }

    private static void InRange(string setting, HyperparameterRange range, double value)
    {
        if (!range.Contains(value))
            Fail(setting, $"{setting} must be in {range}, was {value}.");
    }

    private static void Fail(string setting, FormattableString message) =>
        throw new ArgumentException(message.ToString(CultureInfo.InvariantCulture), setting);
}
