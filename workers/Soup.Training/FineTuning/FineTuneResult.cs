using Soup.Merging.Checkpoints;

namespace Soup.Training.FineTuning;

/// <summary>The outcome of <see cref="FineTuner.Run"/>.</summary>
/// <param name="Weights">
/// The weights the job outputs, on the CPU, in state-dict order: the moving or exponential average when the settings
/// ask for one, else the weights after the last step.
/// </param>
/// <param name="FinalLoss">Mean training loss over the last tenth of the steps (at least the last step).</param>
/// <param name="FinalTrainAccuracy">Share of training examples classified right over those same steps (with training-mode dropout).</param>
/// <param name="Steps">Steps taken.</param>
/// <param name="ImagesPerSecond">Training throughput over the steps, excluding set-up and checkpoint callbacks.</param>
public sealed record FineTuneResult(
    IReadOnlyList<TensorData> Weights, double FinalLoss, double FinalTrainAccuracy, int Steps, double ImagesPerSecond);
