using System.Runtime.InteropServices;
using Soup.Merging.Checkpoints;
using Soup.Training.Evaluation;

namespace Soup.Training.Tests;

public sealed class MidpointWeightsTests
{
    [Fact]
    public void Compute_Float32_IsElementWiseMean()
    {
        var random = new Random(5);
        var a = Enumerable.Range(0, 50).Select(_ => (float)random.NextDouble() * 10 - 5).ToArray();
        var b = Enumerable.Range(0, 50).Select(_ => (float)random.NextDouble() * 10 - 5).ToArray();

        var midpoint = MidpointWeights.Compute([Floats("w", [5, 10], a)], [Floats("w", [5, 10], b)], "a", "b").Single();

        Assert.Equal(SafetensorsDtype.F32, midpoint.Dtype);
        Assert.Equal([5L, 10L], midpoint.Shape);
        var values = MemoryMarshal.Cast<byte, float>(midpoint.Data.Span).ToArray();
        Assert.Equal(a.Zip(b, (x, y) => (x + (double)y) / 2), values.Select(v => (double)v), (x, y) => Math.Abs(x - y) <= 1e-6);
        Assert.Equal([2f, 2f, 1.5f, 0f], Values<float>(MidpointWeights.Compute([Floats("v", [4], [1, 2, 3, -4])], [Floats("v", [4], [3, 2, 0, 4])], "a", "b")[0]));
    }

    [Fact]
    public void Compute_Float64Float16AndBFloat16_AverageInTheirOwnDtype()
    {
        var a = new[]
        {
            Tensor("d", SafetensorsDtype.F64, [2], MemoryMarshal.AsBytes<double>([1.0, 0.1])),
            Tensor("h", SafetensorsDtype.F16, [2], MemoryMarshal.AsBytes<Half>([(Half)1, (Half)2])),
            Tensor("bf", SafetensorsDtype.BF16, [2], MemoryMarshal.AsBytes<ushort>([0x3F80, 0x4000])), // 1, 2
        };
        var b = new[]
        {
            Tensor("d", SafetensorsDtype.F64, [2], MemoryMarshal.AsBytes<double>([2.0, 0.2])),
            Tensor("h", SafetensorsDtype.F16, [2], MemoryMarshal.AsBytes<Half>([(Half)2, (Half)3])),
            Tensor("bf", SafetensorsDtype.BF16, [2], MemoryMarshal.AsBytes<ushort>([0x4000, 0xC000])), // 2, -2
        };

        var midpoint = MidpointWeights.Compute(a, b, "a", "b");

        Assert.Equal([1.5, (0.1 + 0.2) / 2], Values<double>(midpoint[0]));
        Assert.Equal([(Half)1.5, (Half)2.5], Values<Half>(midpoint[1]));
        Assert.Equal([(ushort)0x3FC0, (ushort)0x0000], Values<ushort>(midpoint[2])); // 1.5, 0
    }

    [Fact]
    public void Compute_NonFloatingTensor_KeepsTheFirstCheckpoints()
    {
        var a = new[] { Floats("w", [1], [1]), Tensor("bn.num_batches_tracked", SafetensorsDtype.I64, [], BitConverter.GetBytes(10L)) };
        var b = new[] { Tensor("bn.num_batches_tracked", SafetensorsDtype.I64, [], BitConverter.GetBytes(30L)), Floats("w", [1], [3]) };

        var midpoint = MidpointWeights.Compute(a, b, "a", "b");

        Assert.Equal(["w", "bn.num_batches_tracked"], midpoint.Select(t => t.Name));
        Assert.Equal([2f], Values<float>(midpoint[0]));
        Assert.Equal([10L], Values<long>(midpoint[1]));
    }

    [Fact]
    public void Compute_ShapesDiffer_ThrowsNamingBothAndTheTensor()
    {
        var error = Assert.Throws<InvalidDataException>(
            () => MidpointWeights.Compute([Floats("w", [2], [1, 2])], [Floats("w", [1, 2], [1, 2])], "first.safetensors", "second.safetensors"));

        Assert.Contains("first.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("second.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("'w'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compute_NamesDiffer_Throws()
    {
        Assert.Throws<InvalidDataException>(() => MidpointWeights.Compute([Floats("w", [1], [1])], [Floats("v", [1], [1])], "a", "b"));
        Assert.Throws<InvalidDataException>(() => MidpointWeights.Compute([Floats("w", [1], [1])], [Floats("w", [1], [1]), Floats("v", [1], [1])], "a", "b"));
    }

    [Fact]
    public void Compute_Float8_Throws()
    {
        var f8 = Tensor("w", SafetensorsDtype.F8_E4M3, [1], [0x38]);

        Assert.Throws<InvalidDataException>(() => MidpointWeights.Compute([f8], [f8], "a", "b"));
    }

    private static TensorData Floats(string name, long[] shape, float[] values) =>
        Tensor(name, SafetensorsDtype.F32, shape, MemoryMarshal.AsBytes<float>(values));

    private static TensorData Tensor(string name, SafetensorsDtype dtype, long[] shape, ReadOnlySpan<byte> bytes) =>
        new(name, dtype, shape, bytes.ToArray());

    private static T[] Values<T>(TensorData tensor)
        where T : struct => MemoryMarshal.Cast<byte, T>(tensor.Data.Span).ToArray();
}
