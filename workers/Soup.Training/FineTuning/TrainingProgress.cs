namespace Soup.Training.FineTuning;

/// <summary>A progress report of a fine-tuning run, sent about every tenth of the steps and after the last.</summary>
/// <param name="Step">Steps done so far.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Loss">Mean training loss over the steps since the previous report.</param>
/// <param name="PerSecond">Throughput of the steps this process ran (excluding set-up and checkpoint callbacks), in <paramref name="Unit"/> per second.</param>
/// <param name="Unit">What throughput counts (<see cref="TrainingObjective.Unit"/>): images, tokens.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double PerSecond, string Unit)
{
    /// <summary>RL fine-tunings: the step's mean reward; null otherwise.</summary>
    public double? Reward { get; init; }

    /// <summary>RL fine-tunings: the step's mean KL to the anchor; null otherwise.</summary>
    public double? Kl { get; init; }
}
