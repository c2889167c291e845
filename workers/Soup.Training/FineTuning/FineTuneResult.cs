using Soup.Merging.Checkpoints;

namespace Soup.Training.FineTuning;

/// <summary>The outcome of <see cref="FineTuner.Run"/>.</summary>
/// <param name="Weights">
/// The weights the job outputs, on the CPU, in state-dict order: the moving or exponential average when the settings
/// ask for one, else the weights after the last step.
/// </param>
/// <param name="FinalLoss">Mean training loss over the last tenth of the steps (at least the last step).</param>
/// <param name="FinalTrainAccuracy">
/// Share of the training predictions that were right over those same steps (with training-mode dropout): images
/// classified, next tokens, preference pairs ordered.
/// </param>
/// <param name="Steps">Steps taken.</param>
/// <param name="PerSecond">Training throughput over the steps, excluding set-up and checkpoint callbacks, in <paramref name="Unit"/> per second.</param>
/// <param name="Unit">What throughput counts: images, tokens.</param>
public sealed record FineTuneResult(
    IReadOnlyList<TensorData> Weights, double FinalLoss, double FinalTrainAccuracy, int Steps, double PerSecond, string Unit);
