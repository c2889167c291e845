using System.IO.Compression;
using Soup.Training.Data;

namespace Soup.Training.Tests;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("images-idx3-ubyte")]
    [InlineData("images-idx3-ubyte.gz")]
    public void WriteImages_ThenReadImages_RoundTrips(string name)
    {
        var pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 7)).ToArray();
        var path = _folder.File(name);

        IdxWriter.WriteImages(path, new IdxImages(3, 4, 5, pixels));
        var read = IdxReader.ReadImages(path);

        Assert.Equal((3, 4, 5), (read.Count, read.Rows, read.Columns));
        Assert.Equal(pixels, read.Pixels.ToArray());
    }

    [Fact]
    public void WriteImages_GzName_WritesGzip()
    {
        var path = _folder.File("x-idx3-ubyte.gz");

        IdxWriter.WriteImages(path, new IdxImages(1, 1, 1, new byte[] { 9 }));

        Assert.Equal(new byte[] { 0x1f, 0x8b }, File.ReadAllBytes(path)[..2]);
    }

    [Theory]
    [InlineData("labels-idx1-ubyte")]
    [InlineData("labels-idx1-ubyte.gz")]
    public void WriteLabels_ThenReadLabels_RoundTrips(string name)
    {
        byte[] labels = [0, 9, 3, 3, 1];
        var path = _folder.File(name);

        IdxWriter.WriteLabels(path, labels);

        Assert.Equal(labels, IdxReader.ReadLabels(path).ToArray());
    }

    public static TheoryData<string, byte[], string> MalformedImages => new()
    {
        { "short header", [0, 0, 8, 3, 0, 0, 0, 1], "too short" },
        { "bad magic", [0x12, 0x34, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 5], "magic number 0x12340803" },
        { "labels given as images", [0, 0, 8, 1, 0, 0, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0], "magic number 0x00000801" },
        { "float elements", [0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 5], "element type 0x0D" },
        { "negative count", [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0, 0, 1], "negative" },
        { "zero rows", [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "empty" },
        { "truncated", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3], "truncated" },
        { "trailing bytes", [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2], "1 bytes follow" },
    };

    [Theory]
    [MemberData(nameof(MalformedImages))]
    public void ReadImages_Malformed_ThrowsNamingFile(string name, byte[] content, string expected)
    {
        var path = _folder.File(name.Replace(' ', '-'));
        File.WriteAllBytes(path, content);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLabels_ImageFile_ThrowsNamingFile()
    {
        var path = _folder.File("images-idx3-ubyte");
        IdxWriter.WriteImages(path, new IdxImages(1, 1, 1, new byte[] { 1 }));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("0x00000803", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLabels_CorruptGzip_ThrowsNamingFile()
    {
        var path = _folder.File("labels-idx1-ubyte.gz");
        using (var memory = new MemoryStream())
        {
            using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
                gzip.Write(new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3 });
            var bytes = memory.ToArray();
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        }

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }
}
