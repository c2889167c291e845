using Soup.Merging.Checkpoints;
using static TorchSharp.torch;
using Soup.Training.Checkpoints;

namespace Soup.Training.FineTuning;

/// <summary>Converts the tensors of a <see cref="TrainingState"/> to and from torch, strictly.</summary>
internal static class StateTensors
{
    /// <summary>A CPU copy of <paramref name="tensor"/> under <paramref name="name"/>.</summary>
    public static TensorData ToData(string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().cpu().contiguous();
        return new TensorData(name, TorchDtypes.ToSafetensors(cpu.dtype, name), cpu.shape, cpu.bytes.ToArray());
    }

    /// <summary>A new CPU tensor holding <paramref name="data"/>.</summary>
    public static Tensor ToTensor(TensorData data, string source)
    {
        var tensor = empty(data.Shape, TorchDtypes.ToTorch(data.Dtype, data.Name, source));
        var expectedBytes = tensor.numel() * tensor.ElementSize;
        if (data.Data.Length != expectedBytes)
        {
            tensor.Dispose();
            throw new InvalidDataException($"{source}: tensor '{data.Name}' holds {data.Data.Length} bytes, its shape and dtype need {expectedBytes}.");
        }
        data.Data.Span.CopyTo(tensor.bytes);
        return tensor;
    }
}
