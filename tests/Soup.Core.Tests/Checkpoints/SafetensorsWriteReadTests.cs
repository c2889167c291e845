using System.Buffers.Binary;
using System.Text;
using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

public sealed class SafetensorsWriteReadTests
{
    [Fact]
    public void Write_TinyFile_MatchesHandWrittenReferenceLayout()
    {
        var tensors = new[]
        {
            TestTensors.F16("bias", [], [(Half)0.5f]),
            TestTensors.F32("w", [2], [1.0f, -2.5f]),
        };

        var actual = WriteToArray(tensors, new Dictionary<string, string> { ["format"] = "pt" });

        // The reference writer's compact JSON: 141 bytes, padded with 3 spaces to 144 so the data starts at 152.
        const string Header = """{"__metadata__":{"format":"pt"},"bias":{"dtype":"F16","shape":[],"data_offsets":[0,2]},"w":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}   """;
        byte[] expected =
        [
            144, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes(Header),
            0x00, 0x38, // F16 0.5
            0x00, 0x00, 0x80, 0x3f, // F32 1.0
            0x00, 0x00, 0x20, 0xc0, // F32 -2.5
        ];
        Assert.Equal(144, Header.Length);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Write_NoMetadata_OmitsMetadataKey()
    {
        var actual = WriteToArray([new TensorData("x", SafetensorsDtype.U8, [1], new byte[] { 7 })], null);

        const string Header = """{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}   """;
        byte[] expected = [56, 0, 0, 0, 0, 0, 0, 0, .. Encoding.ASCII.GetBytes(Header), 7];
        Assert.Equal(56, Header.Length);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Write_AnyNameLength_PadsHeaderWithSpacesToMultipleOfEight(int nameLength)
    {
        var name = new string('n', nameLength);
        var bytes = WriteToArray([new TensorData(name, SafetensorsDtype.U8, [3], new byte[] { 1, 2, 3 })], null);

        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var json = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Equal(0, (8 + headerLength) % 8);
        Assert.Equal(bytes.Length - 3, 8 + headerLength);
        Assert.EndsWith("}", json.TrimEnd(' '), StringComparison.Ordinal);
        Assert.True(json.Length - json.TrimEnd(' ').Length < 8);
    }

    [Fact]
    public void ReadWrite_EveryDtype_RoundTripsBytesShapesAndMetadata()
    {
        var random = new Random(1234);
        var tensors = SafetensorsDtypes.All.Select(dtype =>
        {
            var data = new byte[dtype.ElementSize() * 6];
            random.NextBytes(data);
            return new TensorData($"t.{dtype}", dtype, [2, 3], data);
        }).Append(new TensorData("scalar", SafetensorsDtype.I32, [], new byte[] { 1, 0, 0, 0 }))
          .Append(new TensorData("empty", SafetensorsDtype.F32, [0, 5], Array.Empty<byte>()))
          .ToList();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcødé \"quoted\" <&>" };

        var content = Safetensors.Read(WriteToArray(tensors, metadata), "roundtrip");

        Assert.Equal(metadata, content.Metadata);
        Assert.Equal(tensors.Count, content.Tensors.Count);
        for (var i = 0; i < tensors.Count; i++)
        {
            Assert.Equal(tensors[i].Name, content.Tensors[i].Name);
            Assert.Equal(tensors[i].Dtype, content.Tensors[i].Dtype);
            Assert.Equal(tensors[i].Shape, content.Tensors[i].Shape);
            Assert.Equal(tensors[i].Data.ToArray(), content.Tensors[i].Data.ToArray());
        }
    }

    [Fact]
    public void ReadWrite_NamesNeedingJsonEscapes_RoundTrip()
    {
        string[] names = ["quote\"back\\slash", "tab\tnew\nline", "ünïcødé.层", "a+b<c>&'d'"];
        var tensors = names.Select(n => new TensorData(n, SafetensorsDtype.U8, [1], new byte[] { 1 })).ToList();

        var content = Safetensors.Read(WriteToArray(tensors, null), "escapes");

        Assert.Equal(names, content.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Read_ZeroTensors_IsValid()
    {
        var content = Safetensors.Read(WriteToArray([], null), "empty");

        Assert.Empty(content.Tensors);
        Assert.Empty(content.Metadata);
    }

    [Fact]
    public void Write_DataLengthDoesNotMatchShape_ThrowsNamingTensor()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            WriteToArray([new TensorData("w", SafetensorsDtype.F32, [2], new byte[7])], null));

        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("needs 8", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dup")]
    [InlineData("__metadata__")]
    public void Write_RepeatedOrReservedName_Throws(string name)
    {
        var tensors = new[]
        {
            new TensorData("dup", SafetensorsDtype.U8, [1], new byte[1]),
            new TensorData(name, SafetensorsDtype.U8, [1], new byte[1]),
        };

        var ex = Assert.Throws<ArgumentException>(() => WriteToArray(tensors, null));

        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
    }

    private static byte[] WriteToArray(IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, tensors, metadata);
        return stream.ToArray();
    }
}
