namespace Soup.Training.Data;

/// <summary>Maps a pixel scaled to [0, 1] to (pixel − <paramref name="Mean"/>) / <paramref name="Std"/>.</summary>
/// <param name="Mean">Mean subtracted from each pixel.</param>
/// <param name="Std">Standard deviation each pixel is divided by; positive.</param>
public sealed record ImageNormalization(double Mean, double Std)
{
    /// <summary>The per-pixel statistics of the Fashion-MNIST training images (mean 0.2860, std 0.3530).</summary>
    public static ImageNormalization FashionMnist { get; } = new(0.2860, 0.3530);

    /// <summary>Pixels stay in [0, 1].</summary>
    public static ImageNormalization None { get; } = new(0, 1);
}
