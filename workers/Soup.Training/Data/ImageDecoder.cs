using SkiaSharp;

namespace Soup.Training.Data;

/// <summary>Decodes JPEG and PNG files with SkiaSharp into RGB bytes, channel-major ([3, S, S]), resized to S×S (bilinear).</summary>
internal static class ImageDecoder
{
    /// <summary>Decodes <paramref name="path"/> into 3 × <paramref name="size"/>² bytes.</summary>
    /// <exception cref="InvalidDataException">The file cannot be decoded; the message names it.</exception>
    public static byte[] Decode(string path, int size)
    {
        var target = new byte[3 * size * size];
        using var decoded = SKBitmap.Decode(path)
            ?? throw new InvalidDataException($"{path}: not a readable JPEG or PNG image.");
        using var resized = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        if (!decoded.ScalePixels(resized, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None)))
            throw new InvalidDataException($"{path}: the image could not be resized to {size}×{size}.");
        var rgba = resized.GetPixelSpan();
        var plane = size * size;
        for (var p = 0; p < plane; p++)
        {
            target[p] = rgba[4 * p];
            target[plane + p] = rgba[(4 * p) + 1];
            target[(2 * plane) + p] = rgba[(4 * p) + 2];
        }
        return target;
    }
}
