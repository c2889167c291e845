using System.Buffers.Binary;
using System.IO.Compression;

namespace Soup.Training.Data;

/// <summary>Shared constants and helpers of the IDX format (big-endian header, then raw data).</summary>
internal static class IdxFormat
{
    /// <summary>The type code of unsigned bytes, the third byte of the magic number.</summary>
    public const byte UnsignedByte = 0x08;

    /// <summary>Reads a whole file and inflates it when it starts with the gzip magic bytes.</summary>
    public static byte[] ReadAllDecompressed(Stream stream, string source)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var raw = buffer.ToArray();
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
            return raw;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var inflated = new MemoryStream();
            gzip.CopyTo(inflated);
            return inflated.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source}: corrupt gzip data: {e.Message}", e);
        }
    }

    /// <summary>Writes the magic number and dimensions.</summary>
    public static void WriteHeader(Stream stream, params ReadOnlySpan<int> dimensions)
    {
        Span<byte> word = stackalloc byte[4];
        stream.Write([0, 0, UnsignedByte, (byte)dimensions.Length]);
        foreach (var dimension in dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, dimension);
            stream.Write(word);
        }
    }

    /// <summary>Opens a file for writing, gzip-compressed when its name ends in <c>.gz</c>.</summary>
    public static Stream Create(string path)
    {
        var file = File.Create(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(file, CompressionLevel.Fastest)
            : file;
    }
}
