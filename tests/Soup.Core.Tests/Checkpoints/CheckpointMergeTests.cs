using System.Runtime.InteropServices;
using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

namespace Soup.Core.Tests.Checkpoints;

public sealed class CheckpointMergeTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void UniformAverage_ThreeRandomF32Files_EqualsElementwiseMean()
    {
        var random = new Random(42);
        var members = Enumerable.Range(0, 3).Select(_ => new
        {
            Conv = TestTensors.RandomFloats(random, 2 * 3 * 3 * 3),
            Fc = TestTensors.RandomFloats(random, 10 * 7),
            Bias = TestTensors.RandomFloats(random, 10),
        }).ToArray();
        var paths = members.Select((m, i) => Write($"m{i}.safetensors",
            TestTensors.F32("conv.weight", [2, 3, 3, 3], m.Conv),
            TestTensors.F32("fc.weight", [10, 7], m.Fc),
            TestTensors.F32("fc.bias", [10], m.Bias))).ToArray();
        var output = _directory.File("soup.safetensors");

        var summary = FileMerge.UniformAverage(paths, output, cancellationToken: TestContext.Current.CancellationToken);

        using var merged = SafetensorsFile.Open(output);
        Assert.Equal(["conv.weight", "fc.weight", "fc.bias"], merged.Tensors.Select(t => t.Name));
        AssertMean(members.Select(m => m.Conv), TestTensors.AsFloats(merged.ReadTensor("conv.weight")));
        AssertMean(members.Select(m => m.Fc), TestTensors.AsFloats(merged.ReadTensor("fc.weight")));
        AssertMean(members.Select(m => m.Bias), TestTensors.AsFloats(merged.ReadTensor("fc.bias")));
        Assert.Equal(new MergeSummary(3, 54 + 70 + 10, new FileInfo(output).Length, 3), summary);
        Assert.Empty(merged.Metadata);
    }

    [Fact]
    public void UniformAverage_Metadata_WrittenToOutput()
    {
        var path = Write("a.safetensors", TestTensors.F32("w", [1], [1f]));
        var output = _directory.File("soup.safetensors");

        FileMerge.UniformAverage([path], output, new Dictionary<string, string> { ["soup"] = "uniform" }, TestContext.Current.CancellationToken);

        using var merged = SafetensorsFile.Open(output);
        Assert.Equal("uniform", Assert.Single(merged.Metadata).Value);
    }

    [Fact]
    public void UniformAverage_SingleMemberOfEveryAveragedDtype_ReproducesInputBytes()
    {
        var random = new Random(3);
        var tensors = new[] { SafetensorsDtype.F16, SafetensorsDtype.BF16, SafetensorsDtype.F32, SafetensorsDtype.F64, SafetensorsDtype.I64, SafetensorsDtype.BOOL }
            .Select(dtype =>
            {
                var values = TestTensors.RandomFloats(random, 5);
                byte[] data = dtype switch
                {
                    SafetensorsDtype.F16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
                    SafetensorsDtype.BF16 => MemoryMarshal.AsBytes(values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray().AsSpan()).ToArray(),
                    SafetensorsDtype.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
                    SafetensorsDtype.F64 => MemoryMarshal.AsBytes(values.Select(v => v / 3.0).ToArray().AsSpan()).ToArray(),
                    SafetensorsDtype.I64 => MemoryMarshal.AsBytes(values.Select(v => (long)(v * 1e12)).ToArray().AsSpan()).ToArray(),
                    _ => values.Select(v => v > 0 ? (byte)1 : (byte)0).ToArray(),
                };
                return new TensorData(dtype.ToString(), dtype, [5], data);
            }).ToArray();
        var output = _directory.File("soup.safetensors");

        FileMerge.UniformAverage([Write("a.safetensors", tensors)], output, cancellationToken: TestContext.Current.CancellationToken);

        var merged = Safetensors.Read(File.ReadAllBytes(output), output);
        Assert.Equal(tensors.Select(t => t.Data.ToArray()), merged.Tensors.Select(t => t.Data.ToArray()));
    }

    [Fact]
    public void UniformAverage_F64_AccumulatesInDouble()
    {
        // 1 + 2^-40 is not representable in F32; an F32 accumulator would return exactly 1.
        var value = 1.0 + Math.Pow(2, -40);
        var member = new TensorData("w", SafetensorsDtype.F64, [1], BitConverter.GetBytes(value));

        var merged = CheckpointMerge.UniformAverage([[member], [member], [member]]);

        Assert.Equal(value, BitConverter.ToDouble(merged[0].Data.Span));
    }

    [Fact]
    public void UniformAverage_RandomF16_IsCorrectlyRoundedMean()
    {
        var random = new Random(16);
        var members = Enumerable.Range(0, 3).Select(_ => TestTensors.RandomFloats(random, 2000).Select(v => (Half)v).ToArray()).ToArray();

        var merged = CheckpointMerge.UniformAverage([.. members.Select(m => (IReadOnlyList<TensorData>)[TestTensors.F16("w", [2000], m)])]);

        var actual = MemoryMarshal.Cast<byte, Half>(merged[0].Data.Span).ToArray();
        for (var i = 0; i < actual.Length; i++)
        {
            var exact = members.Sum(m => (double)m[i]) / 3;
            var halfUlp = Math.Pow(2, Math.Max(Math.ILogB((double)actual[i]), -14) - 10) / 2;
            Assert.True(Math.Abs((double)actual[i] - exact) <= halfUlp * 1.001, $"element {i}: {actual[i]} vs exact {exact}");
        }
    }

    [Fact]
    public void UniformAverage_RandomBF16_IsCorrectlyRoundedMean()
    {
        var random = new Random(17);
        var members = Enumerable.Range(0, 3)
            .Select(_ => TestTensors.RandomFloats(random, 2000).Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray())
            .ToArray();

        var merged = CheckpointMerge.UniformAverage([.. members.Select(m => (IReadOnlyList<TensorData>)[TestTensors.BF16("w", [2000], m)])]);

        var actual = MemoryMarshal.Cast<byte, ushort>(merged[0].Data.Span).ToArray();
        for (var i = 0; i < actual.Length; i++)
        {
            var exact = members.Sum(m => Bf16ToDouble(m[i])) / 3;
            var value = Bf16ToDouble(actual[i]);
            var halfUlp = Math.Pow(2, Math.ILogB(value) - 7) / 2;
            Assert.True(Math.Abs(value - exact) <= halfUlp * 1.001, $"element {i}: {value} vs exact {exact}");
        }
    }

    [Fact]
    public void UniformAverage_F16Ties_RoundToEven()
    {
        var ulp = Math.Pow(2, -10);
        Half[] a = [(Half)1.0, (Half)(1 + ulp)];
        Half[] b = [(Half)(1 + ulp), (Half)(1 + (2 * ulp))];

        var merged = CheckpointMerge.UniformAverage([[TestTensors.F16("w", [2], a)], [TestTensors.F16("w", [2], b)]]);

        // Means 1 + ulp/2 and 1 + 3ulp/2 are halfway; the even neighbours are 1 and 1 + 2ulp.
        Assert.Equal([(Half)1.0, (Half)(1 + (2 * ulp))], MemoryMarshal.Cast<byte, Half>(merged[0].Data.Span).ToArray());
    }

    [Fact]
    public void UniformAverage_BF16Ties_RoundToEven()
    {
        // 0x3F80 = 1.0, 0x3F81 = 1 + 2^-7, 0x3F82 = 1 + 2^-6: means 0x3F80.8 and 0x3F81.8 go to the even 0x3F80 and 0x3F82.
        ushort[] a = [0x3F80, 0x3F81, 0xBF80];
        ushort[] b = [0x3F81, 0x3F82, 0xBF80];

        var merged = CheckpointMerge.UniformAverage([[TestTensors.BF16("w", [3], a)], [TestTensors.BF16("w", [3], b)]]);

        Assert.Equal([0x3F80, 0x3F82, 0xBF80], MemoryMarshal.Cast<byte, ushort>(merged[0].Data.Span).ToArray());
    }

    [Fact]
    public void UniformAverage_InMemoryAndFiles_ProduceSameTensors()
    {
        var random = new Random(5);
        var members = Enumerable.Range(0, 4).Select(i => (IReadOnlyList<TensorData>)
        [
            TestTensors.F32("a", [3, 3], TestTensors.RandomFloats(random, 9)),
            TestTensors.I64("n", [], [7]),
            TestTensors.F16("h", [4], TestTensors.RandomFloats(random, 4).Select(v => (Half)v).ToArray()),
        ]).ToArray();
        var paths = members.Select((m, i) => Write($"m{i}.safetensors", [.. m])).ToArray();
        var output = _directory.File("soup.safetensors");

        FileMerge.UniformAverage(paths, output, cancellationToken: TestContext.Current.CancellationToken);
        var inMemory = CheckpointMerge.UniformAverage(members);

        var fromFile = Safetensors.Read(File.ReadAllBytes(output), output).Tensors;
        Assert.Equal(inMemory.Select(t => (t.Name, t.Dtype, string.Join(",", t.Shape))), fromFile.Select(t => (t.Name, t.Dtype, string.Join(",", t.Shape))));
        Assert.Equal(inMemory.Select(t => t.Data.ToArray()), fromFile.Select(t => t.Data.ToArray()));
        Assert.Equal(7L, BitConverter.ToInt64(inMemory[1].Data.Span));
    }

    [Fact]
    public void UniformAverage_MembersListTensorsInDifferentOrders_KeepsFirstMembersOrder()
    {
        var first = Write("a.safetensors", TestTensors.F32("z", [1], [1f]), TestTensors.F32("a", [1], [2f]));
        var second = Write("b.safetensors", TestTensors.F32("a", [1], [4f]), TestTensors.F32("z", [1], [3f]));
        var output = _directory.File("soup.safetensors");

        FileMerge.UniformAverage([first, second], output, cancellationToken: TestContext.Current.CancellationToken);

        var merged = Safetensors.Read(File.ReadAllBytes(output), output).Tensors;
        Assert.Equal(["z", "a"], merged.Select(t => t.Name));
        Assert.Equal([2f, 3f], merged.Select(t => TestTensors.AsFloats(t.Data)[0]));
    }

    private string Write(string name, params TensorData[] tensors)
    {
        var path = _directory.File(name);
        TestTensors.WriteFile(path, tensors);
        return path;
    }

    private static double Bf16ToDouble(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    private static void AssertMean(IEnumerable<float[]> members, float[] actual)
    {
        var inputs = members.ToArray();
        Assert.Equal(inputs[0].Length, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            var expected = inputs.Sum(m => (double)m[i]) / inputs.Length;
            Assert.Equal(expected, actual[i], 1e-6);
        }
    }
}
