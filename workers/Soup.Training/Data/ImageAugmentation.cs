using System.Buffers;

namespace Soup.Training.Data;

/// <summary>
/// Applies one image's <see cref="AugmentationParameters"/>: crop and bilinear resize back to full size, flip, colour
/// jitter (brightness, contrast, saturation, hue, in the drawn order, as torchvision's ColorJitter does on [0, 1]
/// values), optional grayscale, then per-channel normalisation.
/// </summary>
internal static class ImageAugmentation
{
    private const double RedWeight = 0.299;
    private const double GreenWeight = 0.587;
    private const double BlueWeight = 0.114;

    /// <summary>Augments one RGB image of bytes, channel-major [3, S, S], into normalised floats of the same layout.</summary>
    public static void Apply(ReadOnlySpan<byte> source, int size, AugmentationParameters p, ImageStatistics statistics, Span<float> target)
    {
        var plane = size * size;
        var buffer = ArrayPool<float>.Shared.Rent(3 * plane);
        try
        {
            var rgb = buffer.AsSpan(0, 3 * plane);
            CropResizeFlip(source, size, p, rgb);
            foreach (var operation in p.JitterOrder)
            {
                switch (operation)
                {
                    case 0: Blend(rgb, (float)p.Brightness, 0f); break;
                    case 1: Blend(rgb, (float)p.Contrast, MeanGray(rgb, plane)); break;
                    case 2: Saturate(rgb, plane, (float)p.Saturation); break;
                    default: ShiftHue(rgb, plane, p.Hue); break;
                }
            }
            if (p.Grayscale)
                Saturate(rgb, plane, 0f);
            statistics.Normalize(rgb, plane, target);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private static void CropResizeFlip(ReadOnlySpan<byte> source, int size, AugmentationParameters p, Span<float> target)
    {
        var plane = size * size;
        double scaleX = (double)p.Width / size, scaleY = (double)p.Height / size;
        Span<int> x0 = stackalloc int[size];
        Span<int> x1 = stackalloc int[size];
        Span<float> wx = stackalloc float[size];
        for (var x = 0; x < size; x++)
        {
            var sx = Math.Clamp(((x + 0.5) * scaleX) - 0.5, 0, p.Width - 1);
            var left = (int)sx;
            var column = p.Flip ? size - 1 - x : x;
            x0[column] = p.Left + left;
            x1[column] = p.Left + Math.Min(left + 1, p.Width - 1);
            wx[column] = (float)(sx - left);
        }
        for (var y = 0; y < size; y++)
        {
            var sy = Math.Clamp(((y + 0.5) * scaleY) - 0.5, 0, p.Height - 1);
            var top = (int)sy;
            var row0 = (p.Top + top) * size;
            var row1 = (p.Top + Math.Min(top + 1, p.Height - 1)) * size;
            var wy = (float)(sy - top);
            for (var c = 0; c < 3; c++)
            {
                var channel = source.Slice(c * plane, plane);
                var output = target.Slice((c * plane) + (y * size), size);
                for (var x = 0; x < size; x++)
                {
                    var upper = channel[row0 + x0[x]] + ((channel[row0 + x1[x]] - channel[row0 + x0[x]]) * wx[x]);
                    var lower = channel[row1 + x0[x]] + ((channel[row1 + x1[x]] - channel[row1 + x0[x]]) * wx[x]);
                    output[x] = (upper + ((lower - upper) * wy)) / 255f;
                }
            }
        }
    }

    /// <summary>factor × value + (1 − factor) × other, clamped to [0, 1] (brightness blends with 0, contrast with the mean gray).</summary>
    private static void Blend(Span<float> values, float factor, float other)
    {
        var shift = (1 - factor) * other;
        for (var i = 0; i < values.Length; i++)
            values[i] = Math.Clamp((factor * values[i]) + shift, 0f, 1f);
    }

    private static float MeanGray(ReadOnlySpan<float> rgb, int plane)
    {
        double sum = 0;
        for (var p = 0; p < plane; p++)
            sum += (RedWeight * rgb[p]) + (GreenWeight * rgb[plane + p]) + (BlueWeight * rgb[(2 * plane) + p]);
        return (float)(sum / plane);
    }

    /// <summary>Blends each pixel with its own gray value; factor 0 makes the image grayscale.</summary>
    private static void Saturate(Span<float> rgb, int plane, float factor)
    {
        for (var p = 0; p < plane; p++)
        {
            var gray = (float)((RedWeight * rgb[p]) + (GreenWeight * rgb[plane + p]) + (BlueWeight * rgb[(2 * plane) + p]));
            for (var c = 0; c < 3; c++)
            {
                ref var v = ref rgb[(c * plane) + p];
                v = Math.Clamp((factor * v) + ((1 - factor) * gray), 0f, 1f);
            }
        }
    }

    /// <summary>Adds <paramref name="shift"/> (a fraction of a turn) to each pixel's hue, through HSV.</summary>
    private static void ShiftHue(Span<float> rgb, int plane, double shift)
    {
        for (var p = 0; p < plane; p++)
        {
            float r = rgb[p], g = rgb[plane + p], b = rgb[(2 * plane) + p];
            var max = Math.Max(r, Math.Max(g, b));
            var min = Math.Min(r, Math.Min(g, b));
            var chroma = max - min;
            if (chroma <= 0)
                continue;
            double hue = max == r ? (g - b) / chroma : max == g ? 2 + ((b - r) / chroma) : 4 + ((r - g) / chroma);
            hue = (hue / 6) + shift;
            hue -= Math.Floor(hue);
            var saturation = chroma / max;
            var (nr, ng, nb) = FromHsv(hue, saturation, max);
            rgb[p] = nr;
            rgb[plane + p] = ng;
            rgb[(2 * plane) + p] = nb;
        }
    }

    private static (float R, float G, float B) FromHsv(double hue, double saturation, float value)
    {
        var sector = hue * 6;
        var i = (int)Math.Floor(sector) % 6;
        var f = sector - Math.Floor(sector);
        var p = (float)(value * (1 - saturation));
        var q = (float)(value * (1 - (saturation * f)));
        var t = (float)(value * (1 - (saturation * (1 - f))));
        return i switch
        {
            0 => (value, t, p),
            1 => (q, value, p),
            2 => (p, value, t),
            3 => (p, q, value),
            4 => (t, p, value),
            _ => (value, p, q),
        };
    }
}
