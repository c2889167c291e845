namespace Soup.Training.Data;

/// <summary>Writes IDX files of unsigned bytes (MNIST layout); a path ending in <c>.gz</c> is gzip-compressed.</summary>
public static class IdxWriter
{
    /// <summary>Writes an idx3 image file.</summary>
    public static void WriteImages(string path, IdxImages images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Pixels.Length != (long)images.Count * images.PixelsPerImage)
            throw new ArgumentException($"{images.Pixels.Length} pixel bytes do not make {images.Count} images of {images.Rows}×{images.Columns}.", nameof(images));
        using var stream = IdxFormat.Create(path);
        IdxFormat.WriteHeader(stream, images.Count, images.Rows, images.Columns);
        stream.Write(images.Pixels.Span);
    }

    /// <summary>Writes an idx1 label file.</summary>
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels)
    {
        using var stream = IdxFormat.Create(path);
        IdxFormat.WriteHeader(stream, labels.Length);
        stream.Write(labels);
    }
}
