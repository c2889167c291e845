namespace Soup.Training;

/// <summary>How one member is fine-tuned: SGD with momentum and weight decay on cross-entropy.</summary>
/// <param name="Model">A name from <see cref="ModelFactory.KnownModels"/>, e.g. "cnn-small".</param>
/// <param name="Steps">Optimizer steps; at least 1.</param>
/// <param name="BatchSize">Examples per step; at least 1 (capped at the data set size).</param>
/// <param name="LearningRate">SGD learning rate; positive.</param>
/// <param name="Momentum">SGD momentum, in [0, 1).</param>
/// <param name="WeightDecay">L2 weight decay; not negative.</param>
/// <param name="Seed">Seeds the initialisation (when no initial weights are given) and the batch order.</param>
public sealed record FineTuneOptions(
    string Model, int Steps, int BatchSize, double LearningRate, double Momentum, double WeightDecay, int Seed)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!ModelFactory.KnownModels.Contains(Model))
            throw new ArgumentException($"Unknown model '{Model}'. Known models: {string.Join(", ", ModelFactory.KnownModels)}.", nameof(Model));
        if (Steps < 1)
            throw new ArgumentException($"Steps must be at least 1, was {Steps}.", nameof(Steps));
        if (BatchSize < 1)
            throw new ArgumentException($"BatchSize must be at least 1, was {BatchSize}.", nameof(BatchSize));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentException($"LearningRate must be positive and finite, was {LearningRate}.", nameof(LearningRate));
        if (!(Momentum >= 0 && Momentum < 1))
            throw new ArgumentException($"Momentum must be in [0, 1), was {Momentum}.", nameof(Momentum));
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new ArgumentException($"WeightDecay must be finite and not negative, was {WeightDecay}.", nameof(WeightDecay));
    }
}
