using Soup.Core.Checkpoints;

namespace Soup.Training;

/// <summary>The outcome of <see cref="FineTuner.Run"/>.</summary>
/// <param name="Weights">The fine-tuned state dict, on the CPU, in state-dict order.</param>
/// <param name="FinalLoss">Mean training loss over the last tenth of the steps (at least the last step).</param>
/// <param name="Steps">Steps taken.</param>
/// <param name="ImagesPerSecond">Training throughput over the whole run.</param>
public sealed record FineTuneResult(IReadOnlyList<TensorData> Weights, double FinalLoss, int Steps, double ImagesPerSecond);
