using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

namespace Soup.Core.Tests.Checkpoints;

public sealed class CheckpointMergeRulesTests : IDisposable
{
    private readonly TempDirectory _inputs = new();
    private readonly TempDirectory _outputs = new();

    public void Dispose()
    {
        _inputs.Dispose();
        _outputs.Dispose();
    }

    private string Output => _outputs.File("soup.safetensors");

    [Fact]
    public void UniformAverage_ShapesDiffer_ThrowsNamingFileTensorAndShapes()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [2, 3], new float[6]));
        var b = Write("b.safetensors", TestTensors.F32("w", [3, 2], new float[6]));

        var ex = Assert.Throws<InvalidDataException>(() => Merge(a, b));

        Assert.Contains(b, ex.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("shape is [3, 2], but in", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public void UniformAverage_DtypesDiffer_ThrowsNamingDtypes()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [1], [1f]));
        var b = Write("b.safetensors", TestTensors.F16("w", [1], [(Half)1f]));

        var ex = Assert.Throws<InvalidDataException>(() => Merge(a, b));

        Assert.Contains("tensor 'w': its dtype is F16, but in", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UniformAverage_TensorMissingInSecond_ThrowsNamingTensor()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [1], [1f]), TestTensors.F32("b", [1], [1f]));
        var b = Write("b.safetensors", TestTensors.F32("w", [1], [1f]));

        var ex = Assert.Throws<InvalidDataException>(() => Merge(a, b));

        Assert.Contains($"'{b}': tensor 'b': it is missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UniformAverage_ExtraTensorInSecond_ThrowsNamingTensor()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [1], [1f]));
        var b = Write("b.safetensors", TestTensors.F32("w", [1], [1f]), TestTensors.F32("extra", [1], [1f]));

        var ex = Assert.Throws<InvalidDataException>(() => Merge(a, b));

        Assert.Contains($"'{b}': tensor 'extra'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UniformAverage_EqualNonFloatTensors_CopiedFromFirst()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [1], [1f]), TestTensors.I64("bn.num_batches_tracked", [], [1234]));
        var b = Write("b.safetensors", TestTensors.F32("w", [1], [3f]), TestTensors.I64("bn.num_batches_tracked", [], [1234]));

        Merge(a, b);

        using var merged = SafetensorsFile.Open(Output);
        Assert.Equal(1234L, BitConverter.ToInt64(merged.ReadTensor("bn.num_batches_tracked")));
        Assert.Equal(2f, TestTensors.AsFloats(merged.ReadTensor("w"))[0]);
    }

    [Fact]
    public void UniformAverage_NonFloatTensorsDiffer_ThrowsAndLeavesNoFile()
    {
        // The differing tensor comes last, so the temporary file has been written to when the merge fails.
        var a = Write("a.safetensors", TestTensors.F32("w", [1000], new float[1000]), TestTensors.I64("bn.num_batches_tracked", [], [10]));
        var b = Write("b.safetensors", TestTensors.F32("w", [1000], new float[1000]), TestTensors.I64("bn.num_batches_tracked", [], [11]));

        var ex = Assert.Throws<InvalidDataException>(() => Merge(a, b));

        Assert.Contains("'bn.num_batches_tracked'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("same bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains(b, ex.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public void UniformAverage_InMemoryNonFloatDiffers_ThrowsNamingTensor()
    {
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointMerge.UniformAverage(
        [
            [new TensorData("mask", SafetensorsDtype.BOOL, [2], new byte[] { 1, 0 })],
            [new TensorData("mask", SafetensorsDtype.BOOL, [2], new byte[] { 1, 1 })],
        ]));

        Assert.Contains("'mask'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'member 1'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UniformAverage_InMemoryDataLengthWrong_Throws()
    {
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointMerge.UniformAverage(
            [[new TensorData("w", SafetensorsDtype.F32, [2], new byte[4])]]));

        Assert.Contains("tensor 'w' has 4 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UniformAverage_Float8_NotSupported()
    {
        var a = Write("a.safetensors", new TensorData("q", SafetensorsDtype.F8_E4M3, [1], new byte[] { 1 }));

        var ex = Assert.Throws<NotSupportedException>(() => Merge(a));

        Assert.Contains("'q'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UniformAverage_SecondInputMalformed_ThrowsFormatAndLeavesNoFile()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [2], [1f, 2f]));
        var b = Write("b.safetensors", TestTensors.F32("w", [2], [1f, 2f]));
        File.WriteAllBytes(b, File.ReadAllBytes(b)[..^2]);

        var ex = Assert.Throws<SafetensorsFormatException>(() => Merge(a, b));

        Assert.Equal(b, ex.SourceName);
        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public void UniformAverage_Cancelled_ThrowsAndLeavesNoFile()
    {
        var a = Write("a.safetensors", TestTensors.F32("w", [2], [1f, 2f]));
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => FileMerge.UniformAverage([a, a], Output, cancellationToken: cancellation.Token));

        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public void UniformAverage_FailsWithExistingOutput_LeavesItUntouched()
    {
        File.WriteAllText(Output, "previous soup");
        var a = Write("a.safetensors", TestTensors.I64("n", [1], [1]));
        var b = Write("b.safetensors", TestTensors.I64("n", [1], [2]));

        Assert.Throws<InvalidDataException>(() => Merge(a, b));

        Assert.Equal(["soup.safetensors"], _outputs.FileNames());
        Assert.Equal("previous soup", File.ReadAllText(Output));
    }

    [Fact]
    public void UniformAverage_ExistingOutput_IsReplaced()
    {
        File.WriteAllText(Output, "previous soup");
        var a = Write("a.safetensors", TestTensors.F32("w", [1], [5f]));

        Merge(a);

        Assert.Equal(["soup.safetensors"], _outputs.FileNames());
        using var merged = SafetensorsFile.Open(Output);
        Assert.Equal(5f, TestTensors.AsFloats(merged.ReadTensor("w"))[0]);
    }

    [Fact]
    public void UniformAverage_NoInputs_Throws()
    {
        Assert.Contains("at least 1 model, got none", Assert.Throws<ArgumentException>(() => Merge()).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => CheckpointMerge.UniformAverage([]));
    }

    private MergeSummary Merge(params string[] inputs) =>
        FileMerge.UniformAverage(inputs, Output, cancellationToken: TestContext.Current.CancellationToken);

    private string Write(string name, params TensorData[] tensors)
    {
        var path = _inputs.File(name);
        TestTensors.WriteFile(path, tensors);
        return path;
    }
}
