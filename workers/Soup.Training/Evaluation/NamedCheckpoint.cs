using Soup.Merging.Checkpoints;

namespace Soup.Training.Evaluation;

/// <summary>A checkpoint to evaluate, under the name the report uses (e.g. its blob name).</summary>
/// <param name="Name">Names the checkpoint in the report and in errors.</param>
/// <param name="Tensors">The state dict.</param>
public sealed record NamedCheckpoint(string Name, IReadOnlyList<TensorData> Tensors);
