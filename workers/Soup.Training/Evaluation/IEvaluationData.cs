using Soup.Merging.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.Evaluation;

/// <summary>
/// Examples an evaluation scores, seen as a classification: each example has logits over <see cref="Classes"/> classes
/// and a label, so accuracy, loss (cross-entropy), the prediction ensemble, diversity and midpoints are computed one way
/// for every task. Labelled images are their own classes; a preference pair is two classes (chosen, rejected) whose
/// logits are the reward model's two rewards, so its accuracy is pairwise accuracy and its loss the Bradley–Terry loss.
/// The data also knows the model its examples are scored by.
/// </summary>
public interface IEvaluationData
{
    /// <summary>The number of examples.</summary>
    int Count { get; }

    /// <summary>Classes per example.</summary>
    int Classes { get; }

    /// <summary>What the examples are, for errors: splits of one evaluation must agree on it.</summary>
    string Kind { get; }

    /// <summary>Examples cut from the left to fit the model's context (reported with the split's size).</summary>
    int Truncated => 0;

    /// <summary>Creates <paramref name="model"/> (freshly initialised, CPU) for these examples.</summary>
    nn.Module CreateModel(string model);

    /// <summary>Loads a checkpoint into a model from <see cref="CreateModel"/>, strictly.</summary>
    /// <exception cref="InvalidDataException">The checkpoint does not fit; the message names the tensor.</exception>
    void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source);

    /// <summary>Logits [n, Classes] of the examples at <paramref name="indices"/> under <paramref name="model"/> (in eval mode on <paramref name="device"/>), and their labels [n] on the device.</summary>
    (Tensor Logits, Tensor Labels) Outputs(nn.Module model, long[] indices, Device device);
}
