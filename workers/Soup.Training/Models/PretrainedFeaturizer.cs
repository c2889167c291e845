using Soup.Merging.Checkpoints;
using static TorchSharp.torch;
using Soup.Training.Checkpoints;

namespace Soup.Training.Models;

/// <summary>
/// Loads pretrained weights into a model's featurizer and leaves its classifier head as initialised: for a checkpoint
/// trained with another class count, e.g. torchvision's ImageNet ResNet weights (1000 classes) converted from PyTorch to
/// safetensors. <see cref="TorchCheckpoint.Load"/> is strict about every tensor, the head included.
/// </summary>
public static class PretrainedFeaturizer
{
    /// <summary>
    /// Copies every tensor outside the model's head (<see cref="IImageClassifier.HeadPrefix"/>) from
    /// <paramref name="tensors"/>; the checkpoint's own head tensors, whatever their shape, or their absence, are ignored.
    /// Strict for everything else: every featurizer tensor must be there with the model's shape and dtype, nothing else may
    /// be there, and nothing changes unless everything fits.
    /// </summary>
    /// <param name="model">A model from <see cref="ModelFactory"/>.</param>
    /// <param name="tensors">The checkpoint's tensors, by state-dict name.</param>
    /// <param name="source">Names the checkpoint in errors, e.g. its path.</param>
    /// <returns>The names of the checkpoint tensors that were skipped as the head.</returns>
    /// <exception cref="ArgumentException">The model has no classifier head.</exception>
    /// <exception cref="InvalidDataException">
    /// A featurizer tensor is missing, unexpected or repeated, or its shape (the message names the tensor and both shapes),
    /// dtype or byte count differs.
    /// </exception>
    public static IReadOnlyList<string> Load(nn.Module<Tensor, Tensor> model, IReadOnlyList<TensorData> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(source);
        var head = ModelFactory.HeadPrefix(model);
        var skipped = tensors.Where(t => IsHead(t.Name, head)).Select(t => t.Name).ToList();
        // The model's own head goes back in unchanged, so the strict load checks (and all-or-nothing copy) cover the rest.
        var ownHead = model.state_dict().Where(p => IsHead(p.Key, head)).Select(p => Copy(p.Key, p.Value)).ToList();
        var merged = tensors.Where(t => !IsHead(t.Name, head)).Concat(ownHead).ToList();
        TorchCheckpoint.Load(model, merged, source);
        return skipped;
    }

    private static TensorData Copy(string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().cpu().contiguous();
        return new TensorData(name, TorchDtypes.ToSafetensors(cpu.dtype, name), cpu.shape, cpu.bytes.ToArray());
    }

    private static bool IsHead(string name, string headPrefix) => name.StartsWith(headPrefix, StringComparison.Ordinal);
}
