using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

public sealed class SafetensorsFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly float[] _weights = TestTensors.RandomFloats(new Random(7), 12);
    private readonly string _path;

    public SafetensorsFileTests()
    {
        _path = _directory.File("model.safetensors");
        TestTensors.WriteFile(
            _path,
            [
                TestTensors.F32("w", [3, 4], _weights),
                TestTensors.I64("steps", [], [42]),
            ],
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Open_ValidFile_ExposesHeaderFacts()
    {
        using var file = SafetensorsFile.Open(_path);

        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(0, file.DataStart % 8);
        Assert.Equal(new FileInfo(_path).Length, file.DataStart + 48 + 8);
        var w = file.Tensors[0];
        Assert.Equal(("w", SafetensorsDtype.F32, 0L, 48L, 48L, 12L), (w.Name, w.Dtype, w.DataBegin, w.DataEnd, w.ByteLength, w.ElementCount));
        Assert.Equal([3L, 4L], w.Shape);
        var steps = file.GetTensor("steps");
        Assert.Equal((48L, 56L, 1L), (steps.DataBegin, steps.DataEnd, steps.ElementCount));
        Assert.Empty(steps.Shape);
    }

    [Fact]
    public void ReadTensor_ByNameAndByInfo_ReturnsWrittenValues()
    {
        using var file = new SafetensorsFile(_path);

        Assert.Equal(_weights, TestTensors.AsFloats(file.ReadTensor("w")));
        var span = new byte[8];
        file.ReadTensor(file.GetTensor("steps"), span);
        Assert.Equal(42L, BitConverter.ToInt64(span));
    }

    [Fact]
    public void ReadTensorBytes_Chunk_ReturnsThatSlice()
    {
        using var file = SafetensorsFile.Open(_path);
        var chunk = new byte[8];

        file.ReadTensorBytes(file.GetTensor("w"), 20, chunk);

        Assert.Equal(_weights[5..7], TestTensors.AsFloats(chunk));
    }

    [Fact]
    public void ReadTensor_DestinationOfWrongLength_Throws()
    {
        using var file = SafetensorsFile.Open(_path);

        Assert.Throws<ArgumentException>(() => file.ReadTensor("w", new byte[47]));
    }

    [Fact]
    public void ReadTensorBytes_PastTensorEnd_Throws()
    {
        using var file = SafetensorsFile.Open(_path);

        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadTensorBytes(file.GetTensor("w"), 44, new byte[8]));
    }

    [Fact]
    public void ReadTensor_InfoOfAnotherLayout_Throws()
    {
        using var file = SafetensorsFile.Open(_path);
        var foreign = new TensorInfo("w", SafetensorsDtype.F32, [2], 8, 16);

        Assert.Throws<ArgumentException>(() => file.ReadTensor(foreign));
    }

    [Fact]
    public void GetTensor_UnknownName_ThrowsNamingFileAndTensor()
    {
        using var file = SafetensorsFile.Open(_path);

        var ex = Assert.Throws<KeyNotFoundException>(() => file.GetTensor("nope"));

        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(_path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadTensor_AfterDispose_Throws()
    {
        var file = SafetensorsFile.Open(_path);
        file.Dispose();

        Assert.Throws<ObjectDisposedException>(() => file.ReadTensor("w"));
    }

    [Fact]
    public void Open_FileTruncatedByOneByte_ThrowsTruncated()
    {
        var bytes = File.ReadAllBytes(_path);
        File.WriteAllBytes(_path, bytes[..^1]);

        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(_path));

        Assert.Equal("steps", ex.TensorName);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }
}
