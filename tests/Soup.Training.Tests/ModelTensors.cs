using System.Runtime.InteropServices;
using Soup.Merging.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>Small tensor helpers for the model tests.</summary>
internal static class ModelTensors
{
    /// <summary>A float tensor of standard normal values drawn from a generator seeded with <paramref name="seed"/>.</summary>
    public static Tensor Random(long[] shape, ulong seed)
    {
        using var generator = new Generator(seed);
        return randn(shape, generator: generator);
    }

    public static TensorData ToData(string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().cpu().contiguous();
        return new TensorData(name, SafetensorsDtype.F32, cpu.shape, cpu.bytes.ToArray());
    }

    public static float[] Floats(TensorData data)
    {
        Assert.Equal(SafetensorsDtype.F32, data.Dtype);
        return MemoryMarshal.Cast<byte, float>(data.Data.Span).ToArray();
    }

    public static float[] Floats(Tensor tensor) => tensor.detach().cpu().contiguous().data<float>().ToArray();

    /// <summary>
    /// Gives every norm layer non-default statistics and affine weights (and every batch norm a step count), so a test
    /// notices any of them that does not travel: 1-D weights and biases, running means and variances, step counts.
    /// </summary>
    public static void PerturbNorms(nn.Module model, ulong seed)
    {
        using var generator = new Generator(seed);
        using var noGrad = no_grad();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
                tensor.fill_(7);
            else if (name.EndsWith(".running_mean", StringComparison.Ordinal) || (name.EndsWith(".bias", StringComparison.Ordinal) && tensor.dim() == 1))
                tensor.normal_(0, 0.1, generator);
            else if (name.EndsWith(".running_var", StringComparison.Ordinal) || (name.EndsWith(".weight", StringComparison.Ordinal) && tensor.dim() == 1))
                tensor.uniform_(0.5, 1.5, generator);
        }
    }

    /// <summary>Whether two tensors have the same shape and elements.</summary>
    public static bool Identical(Tensor first, Tensor second)
    {
        using var scope = NewDisposeScope();
        return first.shape.SequenceEqual(second.shape) && first.eq(second).all().item<bool>();
    }

    /// <summary>The largest absolute difference between two equally long arrays.</summary>
    public static double MaxDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        return expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
    }
}
