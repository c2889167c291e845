namespace Soup.Training.Data;

/// <summary>Per-channel mean and standard deviation of RGB pixels in [0, 1], used to normalise them.</summary>
/// <param name="Mean">Mean of red, green and blue.</param>
/// <param name="Std">Standard deviation of red, green and blue; positive.</param>
public sealed record ImageStatistics(IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>ImageNet's statistics (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225), which DomainBed uses.</summary>
    public static ImageStatistics ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Writes (byte / 255 − mean) / std of each channel-major [3, plane] byte into <paramref name="target"/>.</summary>
    internal void Normalize(ReadOnlySpan<byte> rgb, int plane, Span<float> target)
    {
        for (var c = 0; c < 3; c++)
        {
            var scale = 1f / (255f * Std[c]);
            var shift = Mean[c] / Std[c];
            var from = rgb.Slice(c * plane, plane);
            var to = target.Slice(c * plane, plane);
            for (var p = 0; p < plane; p++)
                to[p] = (from[p] * scale) - shift;
        }
    }

    /// <summary>Writes (value − mean) / std of each channel-major [3, plane] value into <paramref name="target"/>.</summary>
    internal void Normalize(ReadOnlySpan<float> rgb, int plane, Span<float> target)
    {
        for (var c = 0; c < 3; c++)
        {
            var mean = Mean[c];
            var scale = 1f / Std[c];
            var from = rgb.Slice(c * plane, plane);
            var to = target.Slice(c * plane, plane);
            for (var p = 0; p < plane; p++)
                to[p] = (from[p] - mean) * scale;
        }
    }
}
