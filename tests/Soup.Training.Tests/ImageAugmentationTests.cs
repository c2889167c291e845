using Soup.Training.Data;
namespace Soup.Training.Tests;

public sealed class ImageAugmentationTests
{
    private const int Size = 16;
    private static readonly ImageStatistics Identity = new([0f, 0f, 0f], [1f, 1f, 1f]);

    [Fact]
    public void Draw_ManyImages_CropsInsideWithDomainBedScaleAndRatio()
    {
        var random = new Random(1);
        var draws = Enumerable.Range(0, 2000).Select(_ => AugmentationParameters.Draw(random, 224)).ToList();

        Assert.All(draws, p =>
        {
            Assert.InRange(p.Top, 0, 224 - p.Height);
            Assert.InRange(p.Left, 0, 224 - p.Width);
            Assert.InRange(p.Width * p.Height / (224.0 * 224), 0.68, 1.0);
            Assert.InRange((double)p.Width / p.Height, 0.74, 1.35);
            Assert.InRange(p.Brightness, 0.7, 1.3);
            Assert.InRange(p.Hue, -0.3, 0.3);
            Assert.Equal([0, 1, 2, 3], p.JitterOrder.Order());
        });
        Assert.InRange(draws.Count(p => p.Flip), 900, 1100);
        Assert.InRange(draws.Count(p => p.Grayscale), 140, 260);
    }

    [Fact]
    public void Apply_NeutralParameters_OnlyNormalises()
    {
        var image = RandomImage(2);

        var output = Apply(image, Neutral());

        Assert.Equal(image.Select(b => b / 255f), output, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Apply_Flip_MirrorsEachRow()
    {
        var image = RandomImage(3);

        var output = Apply(image, Neutral() with { Flip = true });

        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < Size; y++)
            {
                for (var x = 0; x < Size; x++)
                    Assert.Equal(image[(c * Size * Size) + (y * Size) + (Size - 1 - x)] / 255f, output[(c * Size * Size) + (y * Size) + x], 5);
            }
        }
    }

    [Fact]
    public void Apply_Grayscale_GivesEqualChannels()
    {
        var output = Apply(RandomImage(4), Neutral() with { Grayscale = true });

        var plane = Size * Size;
        Assert.Equal(output[..plane], output[plane..(2 * plane)]);
        Assert.Equal(output[..plane], output[(2 * plane)..]);
    }

    [Fact]
    public void Apply_HueShiftOfAThird_TurnsRedIntoGreen()
    {
        var plane = Size * Size;
        var red = new byte[3 * plane];
        Array.Fill(red, (byte)255, 0, plane);

        var output = Apply(red, Neutral() with { Hue = 1.0 / 3 });

        Assert.All(output[..plane], v => Assert.Equal(0f, v, 5));
        Assert.All(output[plane..(2 * plane)], v => Assert.Equal(1f, v, 5));
        Assert.All(output[(2 * plane)..], v => Assert.Equal(0f, v, 5));
    }

    [Fact]
    public void Apply_BrightnessHalf_HalvesValues()
    {
        var image = RandomImage(5);

        var output = Apply(image, Neutral() with { Brightness = 0.5 });

        Assert.Equal(image.Select(b => b / 510f), output, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    private static AugmentationParameters Neutral() => new(0, 0, Size, Size, false, [0, 1, 2, 3], 1, 1, 1, 0, false);

    private static float[] Apply(byte[] image, AugmentationParameters parameters)
    {
        var output = new float[image.Length];
        ImageAugmentation.Apply(image, Size, parameters, Identity, output);
        return output;
    }

    private static byte[] RandomImage(int seed)
    {
        var image = new byte[3 * Size * Size];
        new Random(seed).NextBytes(image);
        return image;
    }
}
