using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Evaluation;
using static TorchSharp.torch;
using Soup.Training.Models;

namespace Soup.Training.Data;

/// <summary>
/// Labelled images that training and evaluation read in batches. Implementations hold decoded data in memory and
/// are safe to call from one thread at a time (the trainer prepares the next batch while a step runs).
/// </summary>
public interface ILabelledImages : IEvaluationData, IDisposable
{
    /// <summary>The images' channels and size, and the number of classes.</summary>
    ModelShape Shape { get; }

    /// <summary>
    /// The examples at <paramref name="indices"/> as CPU tensors: images float32 [n, C, H, W] normalised, labels int64 [n].
    /// With <paramref name="augment"/> set, training augmentation (if the data has any) draws from it; null gives the
    /// evaluation view. The caller disposes the tensors.
    /// </summary>
    (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment);

    /// <inheritdoc />
    int IEvaluationData.Classes => Shape.Classes;

    /// <inheritdoc />
    string IEvaluationData.Kind => Shape.ToString();

    /// <inheritdoc />
    nn.Module IEvaluationData.CreateModel(string model) => ModelFactory.Create(model, Shape);

    /// <inheritdoc />
    void IEvaluationData.Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source) => TorchCheckpoint.Load(model, tensors, source);

    /// <inheritdoc />
    (Tensor Logits, Tensor Labels) IEvaluationData.Outputs(nn.Module model, long[] indices, Device device)
    {
        var (images, labels) = Batch(indices, null);
        using (images)
        using (labels)
            return (((nn.Module<Tensor, Tensor>)model).forward(images.to(device)), labels.to(device));
    }
}
