namespace Soup.Training.Data;

/// <summary>The decoded images of one domain: each 3×<paramref name="Size"/>×<paramref name="Size"/> bytes (channel-major), and their labels.</summary>
internal sealed record ImageFolderDomain(int Size, byte[][] Images, long[] Labels)
{
    /// <summary>The number of images.</summary>
    public int Count => Images.Length;
}
