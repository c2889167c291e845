namespace Soup.Training.Data;

/// <summary>The content of an IDX image file of unsigned bytes: <paramref name="Count"/> images, row-major.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Rows per image.</param>
/// <param name="Columns">Columns per image.</param>
/// <param name="Pixels">Count × Rows × Columns bytes, image after image.</param>
public sealed record IdxImages(int Count, int Rows, int Columns, ReadOnlyMemory<byte> Pixels)
{
    /// <summary>Bytes per image.</summary>
    public int PixelsPerImage => Rows * Columns;
}
