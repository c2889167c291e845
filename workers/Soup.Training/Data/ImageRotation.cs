using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Soup.Training.Data;

/// <summary>
/// Rotates square or rectangular single-channel byte images counter-clockwise about their centre with bilinear
/// interpolation and fill 0, as torchvision's <c>rotate(img, angle, BILINEAR, fill=0)</c> does on a PIL image (the
/// DomainBed RotatedMNIST transform): pixel centres at +0.5, neighbours clamped at the border, points mapped outside
/// the image filled, results truncated to bytes.
/// </summary>
public sealed class ImageRotation
{
    private readonly int _width;
    private readonly int _height;
    private readonly Sample[] _samples;

    /// <summary>Prepares the sampling of every output pixel for images of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public ImageRotation(double degrees, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        this._width = width;
        this._height = height;
        _samples = Prepare(degrees, height, width);
    }

    /// <summary>Bytes per image.</summary>
    public int PixelsPerImage => _width * _height;

    /// <summary>Rotates one image from <paramref name="source"/> into <paramref name="target"/> (both row-major).</summary>
    public void Rotate(ReadOnlySpan<byte> source, Span<byte> target)
    {
        if (source.Length != PixelsPerImage || target.Length != PixelsPerImage)
            throw new ArgumentException($"Images must hold {_height}×{_width} = {PixelsPerImage} bytes.");
        // The lengths are checked above and every sample lies inside the image, so the loop reads without bounds checks.
        ref var input = ref MemoryMarshal.GetReference(source);
        ref var output = ref MemoryMarshal.GetReference(target);
        var all = _samples;
        for (var p = 0; p < all.Length; p++)
        {
            ref readonly var s = ref all[p];
            if (s.Top < 0)
            {
                Unsafe.Add(ref output, p) = 0;
                continue;
            }
            double topLeft = Unsafe.Add(ref input, s.Top), bottomLeft = Unsafe.Add(ref input, s.Bottom);
            var top = topLeft + ((Unsafe.Add(ref input, s.Top + s.Right) - topLeft) * s.Dx);
            var bottom = bottomLeft + ((Unsafe.Add(ref input, s.Bottom + s.Right) - bottomLeft) * s.Dx);
            Unsafe.Add(ref output, p) = (byte)(top + ((bottom - top) * s.Dy));
        }
    }

    /// <summary>Rotates <paramref name="count"/> consecutive images, in parallel.</summary>
    public void RotateAll(ReadOnlyMemory<byte> source, Memory<byte> target, int count)
    {
        var size = PixelsPerImage;
        if (source.Length < (long)count * size || target.Length < (long)count * size)
            throw new ArgumentException($"{count} images of {size} bytes do not fit the buffers.");
        Parallel.For(0, count, i => Rotate(source.Span.Slice(i * size, size), target.Span.Slice(i * size, size)));
    }

    private static Sample[] Prepare(double degrees, int height, int width)
    {
        // PIL's rotate: the inverse map output → input, its coefficients rounded to 15 decimals.
        var radians = -(degrees % 360.0) * Math.PI / 180.0;
        var cos = Math.Round(Math.Cos(radians), 15);
        var sin = Math.Round(Math.Sin(radians), 15);
        double centreX = width / 2.0, centreY = height / 2.0;
        var offsetX = (cos * -centreX) + (sin * -centreY) + centreX;
        var offsetY = (-sin * -centreX) + (cos * -centreY) + centreY;

        var samples = new Sample[width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var inX = (cos * (x + 0.5)) + (sin * (y + 0.5)) + offsetX;
                var inY = (-sin * (x + 0.5)) + (cos * (y + 0.5)) + offsetY;
                samples[(y * width) + x] = Locate(inX, inY, height, width);
            }
        }
        return samples;
    }

    private static Sample Locate(double inX, double inY, int height, int width)
    {
        if (inX < 0 || inX >= width || inY < 0 || inY >= height)
            return new Sample(-1, 0, 0, 0, 0);
        inX -= 0.5;
        inY -= 0.5;
        var x = (int)Math.Floor(inX);
        var y = (int)Math.Floor(inY);
        var left = Math.Clamp(x, 0, width - 1);
        var right = Math.Clamp(x + 1, 0, width - 1);
        var topRow = Math.Clamp(y, 0, height - 1);
        var bottomRow = y + 1 < height ? y + 1 : topRow;
        return new Sample((topRow * width) + left, (bottomRow * width) + left, right - left, inX - x, inY - y);
    }

    /// <summary>Where one output pixel reads: the top-left and bottom-left neighbours, the step to the right one, and the weights; Top −1 means fill.</summary>
    private readonly record struct Sample(int Top, int Bottom, int Right, double Dx, double Dy);
}
