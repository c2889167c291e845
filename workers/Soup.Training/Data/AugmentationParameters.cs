namespace Soup.Training.Data;

/// <summary>
/// The random choices of DomainBed's training transform for one image, drawn in torchvision's order:
/// RandomResizedCrop(scale 0.7–1, ratio 3/4–4/3), RandomHorizontalFlip, ColorJitter(0.3, 0.3, 0.3, 0.3) with its
/// random order of operations, RandomGrayscale(p 0.1).
/// </summary>
internal sealed record AugmentationParameters(
    int Top, int Left, int Height, int Width, bool Flip, int[] JitterOrder,
    double Brightness, double Contrast, double Saturation, double Hue, bool Grayscale)
{
    private const double MinScale = 0.7;
    private const double MaxScale = 1.0;
    private const double Jitter = 0.3;
    private const double GrayscaleProbability = 0.1;
    private static readonly double LogMinRatio = Math.Log(3.0 / 4.0);
    private static readonly double LogMaxRatio = Math.Log(4.0 / 3.0);

    /// <summary>Draws the choices for an image of <paramref name="size"/>×<paramref name="size"/> pixels.</summary>
    public static AugmentationParameters Draw(Random random, int size)
    {
        var (top, left, height, width) = DrawCrop(random, size);
        var flip = random.NextDouble() < 0.5;
        int[] order = [0, 1, 2, 3];
        SeededShuffle.Shuffle(order, random);
        var brightness = Uniform(random, 1 - Jitter, 1 + Jitter);
        var contrast = Uniform(random, 1 - Jitter, 1 + Jitter);
        var saturation = Uniform(random, 1 - Jitter, 1 + Jitter);
        var hue = Uniform(random, -Jitter, Jitter);
        var grayscale = random.NextDouble() < GrayscaleProbability;
        return new AugmentationParameters(top, left, height, width, flip, order, brightness, contrast, saturation, hue, grayscale);
    }

    private static (int Top, int Left, int Height, int Width) DrawCrop(Random random, int size)
    {
        // torchvision's RandomResizedCrop.get_params: up to 10 tries, then the whole (square) image.
        double area = size * size;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * Uniform(random, MinScale, MaxScale);
            var ratio = Math.Exp(Uniform(random, LogMinRatio, LogMaxRatio));
            var width = (int)Math.Round(Math.Sqrt(target * ratio));
            var height = (int)Math.Round(Math.Sqrt(target / ratio));
            if (width > 0 && width <= size && height > 0 && height <= size)
                return (random.Next(size - height + 1), random.Next(size - width + 1), height, width);
        }
        return (0, 0, size, size);
    }

    private static double Uniform(Random random, double low, double high) => low + ((high - low) * random.NextDouble());
}
