using System.Buffers.Binary;

namespace Soup.Training.Data;

/// <summary>Reads IDX files of unsigned bytes (MNIST layout): images (idx3) and labels (idx1), gzipped or not.</summary>
public static class IdxReader
{
    /// <summary>Reads an idx3 image file.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid idx3 file of unsigned bytes; the message names it.</exception>
    public static IdxImages ReadImages(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadImages(stream, path);
    }

    /// <summary>Reads an idx3 image file from a stream; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a valid idx3 file of unsigned bytes.</exception>
    public static IdxImages ReadImages(Stream stream, string source)
    {
        var (dimensions, data) = Parse(stream, source, 3);
        if (dimensions[1] == 0 || dimensions[2] == 0)
            throw new InvalidDataException($"{source}: images of {dimensions[1]}×{dimensions[2]} pixels are empty.");
        return new IdxImages(dimensions[0], dimensions[1], dimensions[2], data);
    }

    /// <summary>Reads an idx1 label file: one byte per example.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid idx1 file of unsigned bytes; the message names it.</exception>
    public static ReadOnlyMemory<byte> ReadLabels(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadLabels(stream, path);
    }

    /// <summary>Reads an idx1 label file from a stream; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a valid idx1 file of unsigned bytes.</exception>
    public static ReadOnlyMemory<byte> ReadLabels(Stream stream, string source) => Parse(stream, source, 1).Data;

    private static (int[] Dimensions, ReadOnlyMemory<byte> Data) Parse(Stream stream, string source, int expectedRank)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        var bytes = IdxFormat.ReadAllDecompressed(stream, source);
        var headerLength = 4 + (4 * expectedRank);
        if (bytes.Length < headerLength)
            throw new InvalidDataException($"{source}: {bytes.Length} bytes is too short for an IDX header of {headerLength} bytes.");
        if (bytes[0] != 0 || bytes[1] != 0 || bytes[3] != expectedRank)
        {
            var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            throw new InvalidDataException(
                $"{source}: magic number 0x{magic:X8} is not that of a {expectedRank}-dimensional IDX file (0x0000080{expectedRank}).");
        }
        if (bytes[2] != IdxFormat.UnsignedByte)
            throw new InvalidDataException($"{source}: element type 0x{bytes[2]:X2} is not unsigned byte (0x08).");

        var dimensions = new int[expectedRank];
        long expected = 1;
        for (var i = 0; i < expectedRank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + (4 * i)));
            if (dimensions[i] < 0)
                throw new InvalidDataException($"{source}: dimension {i} is negative ({dimensions[i]}).");
            expected *= dimensions[i];
        }
        long actual = bytes.Length - headerLength;
        if (actual < expected)
            throw new InvalidDataException($"{source}: truncated: the header promises {expected} data bytes, the file holds {actual}.");
        if (actual > expected)
            throw new InvalidDataException($"{source}: {actual - expected} bytes follow the {expected} data bytes the header promises.");
        return (dimensions, bytes.AsMemory(headerLength));
    }
}
