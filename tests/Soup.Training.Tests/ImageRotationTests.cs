namespace Soup.Training.Tests;

public sealed class ImageRotationTests
{
    private const int Size = 28;

    [Fact]
    public void Rotate_ZeroDegrees_IsIdentity()
    {
        var image = RandomImage(1);
        var rotated = new byte[image.Length];

        new ImageRotation(0, Size, Size).Rotate(image, rotated);

        Assert.Equal(image, rotated);
    }

    [Fact]
    public void Rotate_NinetyDegrees_IsTransposeThenVerticalFlip()
    {
        var image = RandomImage(2);
        var rotated = new byte[image.Length];

        new ImageRotation(90, Size, Size).Rotate(image, rotated);

        // Counter-clockwise: output row r, column c comes from input row c, column Size − 1 − r.
        for (var r = 0; r < Size; r++)
        {
            for (var c = 0; c < Size; c++)
                Assert.Equal(image[(c * Size) + (Size - 1 - r)], rotated[(r * Size) + c]);
        }
    }

    [Fact]
    public void Rotate_FifteenDegrees_MovesABrightSpotCounterClockwiseAboutTheCentre()
    {
        var image = new byte[Size * Size];
        for (var r = 3; r <= 5; r++)
        {
            for (var c = 13; c <= 15; c++)
                image[(r * Size) + c] = 255;
        }
        var rotated = new byte[image.Length];

        new ImageRotation(15, Size, Size).Rotate(image, rotated);

        // The spot's centre (14.5, 4.5) is (0.5, −9.5) from the image centre (14, 14); rotated 15° counter-clockwise
        // on screen (y down) it lands at centre + (dx cos θ + dy sin θ, −dx sin θ + dy cos θ).
        var theta = 15 * Math.PI / 180;
        var expectedX = 14 + (0.5 * Math.Cos(theta)) + (-9.5 * Math.Sin(theta));
        var expectedY = 14 - (0.5 * Math.Sin(theta)) + (-9.5 * Math.Cos(theta));
        var (x, y) = CentreOfMass(rotated);
        Assert.InRange(x, expectedX - 0.3, expectedX + 0.3);
        Assert.InRange(y, expectedY - 0.3, expectedY + 0.3);
        Assert.InRange(rotated.Sum(p => (double)p) / image.Sum(p => (double)p), 0.9, 1.1);
    }

    [Fact]
    public void Rotate_Corners_AreFilledWithZero()
    {
        var image = Enumerable.Repeat((byte)200, Size * Size).ToArray();
        var rotated = new byte[image.Length];

        new ImageRotation(45, Size, Size).Rotate(image, rotated);

        Assert.Equal(0, rotated[0]);
        Assert.Equal(200, rotated[(14 * Size) + 14]);
    }

    [Fact]
    public void RotateAll_EqualsRotatingEachImage()
    {
        var images = Enumerable.Range(0, 5).SelectMany(i => RandomImage(10 + i)).ToArray();
        var rotation = new ImageRotation(30, Size, Size);
        var all = new byte[images.Length];

        rotation.RotateAll(images, all, 5);

        var one = new byte[Size * Size];
        rotation.Rotate(images.AsSpan(3 * Size * Size, Size * Size), one);
        Assert.Equal(one, all.AsSpan(3 * Size * Size, Size * Size).ToArray());
    }

    private static byte[] RandomImage(int seed)
    {
        var image = new byte[Size * Size];
        new Random(seed).NextBytes(image);
        return image;
    }

    private static (double X, double Y) CentreOfMass(byte[] image)
    {
        double total = 0, x = 0, y = 0;
        for (var r = 0; r < Size; r++)
        {
            for (var c = 0; c < Size; c++)
            {
                var v = image[(r * Size) + c];
                total += v;
                x += v * (c + 0.5);
                y += v * (r + 0.5);
            }
        }
        return (x / total, y / total);
    }
}
