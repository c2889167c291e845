using System.Text;
using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

public sealed class SafetensorsValidationTests
{
    /// <summary>Hand-written headers that break one rule each: header, data bytes that follow, tensor named, words of the rule.</summary>
    public static TheoryData<string, int, string?, string> MalformedHeaders => new()
    {
        { """{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}""", 5, "b", "leave a gap" },
        { """{"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}""", 3, "a", "leave a gap: the data buffer starts at byte 0" },
        { """{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}""", 3, "b", "overlap the previous tensor 'a'" },
        { """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}""", 1, "b", "end before they begin" },
        { """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2, "a", "appears more than once" },
        { """{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}""", 3, "a", "the data is truncated" },
        { """{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 3, "a", "1 trailing bytes follow" },
        { """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "w", "span 4 bytes, but dtype F32 with shape [2] needs 8 bytes" },
        { """{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}""", 0, "w", "overflows" },
        { """{"w":{"dtype":"F4","shape":[1],"data_offsets":[0,1]}}""", 1, "w", "unknown dtype \"F4\"" },
        { """{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", 4, "w", "unknown dtype" },
        { """{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "w", "'shape' must be an array of non-negative integers" },
        { """{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4, "w", "'shape' must be an array of non-negative integers" },
        { """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", 4, "w", "'data_offsets' must be an array of 2 non-negative integers" },
        { """{"w":{"dtype":"F32","shape":[1]}}""", 0, "w", "lacks the required field 'data_offsets'" },
        { """{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "w", "field 'dtype' appears more than once" },
        { """{"w":[1,2]}""", 0, "w", "must be a JSON object with dtype, shape and data_offsets" },
        { """{"__metadata__":{"k":1}}""", 0, null, "__metadata__ values must be strings, but key 'k' holds a Number" },
        { """{"__metadata__":["k"]}""", 0, null, "__metadata__ must be a JSON object" },
        { """{"__metadata__":{"k":"v","k":"w"}}""", 0, null, "key 'k' appears more than once" },
        { """[]""", 0, null, "must be a JSON object" },
        { """{"a":""", 0, null, "not valid JSON" },
        { """{} trailing""", 0, null, "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Read_MalformedHeader_ThrowsNamingSourceTensorAndRule(string header, int dataLength, string? tensor, string rule)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(TestTensors.Raw(header, dataLength), "bad.safetensors"));

        AssertNames(ex, "bad.safetensors", tensor, rule);
    }

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Open_MalformedHeader_ThrowsNamingFileTensorAndRule(string header, int dataLength, string? tensor, string rule)
    {
        using var directory = new TempDirectory();
        var path = directory.File("bad.safetensors");
        File.WriteAllBytes(path, TestTensors.Raw(header, dataLength));

        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path));

        AssertNames(ex, path, tensor, rule);
    }

    [Fact]
    public void Read_HeaderNotUtf8_ThrowsNamingRule()
    {
        byte[] header = [.. Encoding.ASCII.GetBytes("""{"__metadata__":{"k":" """), 0xC3, 0x28, .. Encoding.ASCII.GetBytes("\"}}")];

        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(TestTensors.Raw(header, 0), "utf8.safetensors"));

        AssertNames(ex, "utf8.safetensors", null, "not valid UTF-8");
    }

    [Fact]
    public void Read_HeaderLengthOverLimit_ThrowsNamingLimit()
    {
        var bytes = TestTensors.Raw(Encoding.ASCII.GetBytes("{}"), 0, declaredLength: 100_000_001);

        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(bytes, "huge.safetensors"));

        AssertNames(ex, "huge.safetensors", null, "header length 100000001 exceeds the limit of 100000000 bytes");
    }

    [Fact]
    public void Read_HeaderLengthAtLimitButPastEnd_ThrowsNamingEnd()
    {
        var bytes = TestTensors.Raw(Encoding.ASCII.GetBytes("{}"), 0, declaredLength: 100_000_000);

        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(bytes, "short.safetensors"));

        AssertNames(ex, "short.safetensors", null, "runs past the end");
    }

    [Fact]
    public void Read_HeaderLengthNearUInt64Max_ThrowsNamingLimit()
    {
        var bytes = TestTensors.Raw(Encoding.ASCII.GetBytes("{}"), 0, declaredLength: ulong.MaxValue);

        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(bytes, "max.safetensors"));

        AssertNames(ex, "max.safetensors", null, "exceeds the limit");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Read_ShorterThanLengthPrefix_ThrowsNamingPrefix(int length)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(new byte[length], "tiny.safetensors"));

        AssertNames(ex, "tiny.safetensors", null, "shorter than the 8-byte header length prefix");
    }

    [Fact]
    public void Read_NullMetadataAndUnknownTensorField_AcceptedLikeReference()
    {
        const string Header = """{"__metadata__":null,"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":true}}""";

        var content = Safetensors.Read(TestTensors.Raw(Header, 2), "lenient.safetensors");

        Assert.Empty(content.Metadata);
        Assert.Equal("a", Assert.Single(content.Tensors).Name);
    }

    [Fact]
    public void Read_TensorsListedOutOfDataOrder_ReturnsThemInDataOrder()
    {
        const string Header = """{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""";

        var content = Safetensors.Read(TestTensors.Raw(Header, 2), "order.safetensors");

        Assert.Equal(["a", "b"], content.Tensors.Select(t => t.Name));
        Assert.Equal(new byte[] { (byte)(8 + Header.Length) }, content.Tensors[0].Data.ToArray());
    }

    private static void AssertNames(SafetensorsFormatException ex, string source, string? tensor, string rule)
    {
        Assert.Contains($"'{source}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(rule, ex.Message, StringComparison.Ordinal);
        Assert.Equal(source, ex.SourceName);
        Assert.Equal(tensor, ex.TensorName);
        if (tensor is not null)
        {
            Assert.Contains($"tensor '{tensor}'", ex.Message, StringComparison.Ordinal);
        }
    }
}
