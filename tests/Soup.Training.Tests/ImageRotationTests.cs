using Soup.Training.Data;
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

    /// <summary>References made with Pillow 9.4 (Debian 12): <c>Image.fromarray(img, "L").rotate(angle, BILINEAR, fillcolor=0)</c>
    /// of the pattern <c>img[y, x] = (37x + 91y + 13xy) mod 256</c>, as torchvision's rotate calls it for DomainBed.</summary>
    [Theory]
    [InlineData(15, "AAAAAAAAAAAAAFobQXOriS56lUJ5gpqfNgAAAAAAAAAAAACCpsmXIliVuUlvdIaK1WhFd7kAAAAAAACUDkpBYom30ydosH9Ypit6RF6dflhkAAAAdYuXoqjgdj5mn99YcsVsf0RTfFy4qpqInoEAANZEg2RrlsdQPIHMknW8h6S3e2lgIKSw0IbnAAB4mbahc0+AmJRcssZypEypT69O3HzcUqQ9lQAAqrJrcJyzc4G0MJLzat1s24jRqKHLjlBklY0AAFCBrHZAjN9RmDR73pzIl4qOfIeRplhVdbtpfwBs44+Ym2+Zl6DGs3ZcXF+YTjyjdm7HYZWBUccATVa6sLO1uJSwh8FUJIxY35JXu8+fcU2BNa6SAKWZxXKfSJM4oUHJZwuiZ4u6oW6US5OKirqaVy6m2m1AWrNoUH4omnQjg5ZZSXuppop0ZIGMXWh+mYsgYoCVSJFxk8Z6NV6+jGE/TY1Z66ZmM/nNqHKSqFmIXmyjT0q6ekAy4LmZgG1gW2RicISgf2Sffj1BcDS+by63qHNEHL3Oy721tLnFqH9cQGKUmDTCa4mDeG1+s5BmQiYPXl2E2aFwREZqlcbOympXTDCEbCygwpZxUjooHRkaLTJHY4WRfnFrb3PCxLiJdbzKrIZlSzgrJSUrOExmh67bPkqL02x2AI1KL1WpgV9DLh9KIxomOFBvlMCfYmuIbH2UsgCJlI1jPyEsXpbV8J1RID1hi7y2hHW8nGihK40AVisVOGGSsKustMLXnRQ9bKG1H2isE2pTdaPWAABWfpBWT1pVYXSOrs3YNXCwJUWZZ1iWVJ98eAAAreDCWqHhRJw/VX+w6WhtuWZkilKWeIK6kZwAAE1HgWdieJW4u3ZnhsmWZLu2fZZZmEdvqtWFAABYkrN2ln1JWo/Kt1WjvlWgS46ofi+OMbSR4QAAAIo8fVyEj1M1fLYdd9hPrEKbT6R2wZYAAAAAAABJjZRx63aSikuIb3GwdJt+oZUAAAAAAAAAAAAAd8x4YH7Ib2+8oZqNgpSAAAAAAAAAAAAAAA==")]
    [InlineData(30, "AAAAAAAAAAAAXYC4H23EdrCYp3U9agAAAAAAAAAAAAAAAAAAKlybpUV5Gnkoj4+UiKbuAAAAAAAAAAAAAADXXCpkqqFZgUGFVoGZydKEj6IAAAAAAAAAAIWiwcwkYq5vZ4ROoGo1o6lpfJloAAAAAAAAMlFgeqDRkFSm6XPdiF+C17x+WVmhWowAAAAAE2tfVkdzq+1glHNnmmjto4yxSFNjrju8AAAAtpW1vNwlS3nCvHbLY9ihkoR7qsl6h4BxtGoAAGlYX2+Smrc9jOeVvraQUFCdimyMU29mgYg5AADTpaN2NniqVkus4IYjoYxTkKrsZcFunqVRhcoAVWp8oLynUI7ZizxXbXXntI1xeVtvcpNcx82WbqGJgFdepbWkprpWE6NtZ3h9q8qTwbdaQJKGVmm/dZKsqcV7u0a4gC1aqnpUOitsL2pgiahoSaDskKy141inP2VYUJ5SEq2yk4B3eoiixoM+eMmzmzTbc3tpmU2cXrWybDJU38e6uMHWpVBXmZVtcz+1vFRpVJRKm1leuntHH5ChunDPaj9xkUdJqNOMcaUcVYJ6VKRJcrd+US8YEw0YLlB9tdFKlnpvZoqSt1KrS5GCLoWodlA0JB8lN1R8r59OjZ1Zvlt3WHRCZVmDXc3Fj2NDLiQmM0tundenbIJnblaHyLFXpzezbkKnmmpFKyMZITVTfbJhPpVqZYphzQBFRk1gfKfYmGM5HouwbhIsUYG7UVakIpBYmbwAALTCeh+niVAhX8fZ2OJqUEN6uShiikWOTWWBAADRbUt2bi87k7emoKW1zfdiZ7CiY7BIj2NUigAAAIqTRR5mnXtlWlxmfZ/MvUmY2XG4eXVf3wAAAABhD0GFWTOSTn6UcDpiltV6dXdCnkLKiQAAAAAAAFiW4HWVqZeir8fQjlWaxkevY5+dAAAAAAAAAACmqnqFP2RfS0hnkrseYKuLfLIAAAAAAAAAAAAAACJ0w3yplahvOltxg7tgxwAAAAAAAAAAAAAAAAAAkSWKPJScl4Ci5GKmcAAAAAAAAAAAAA==")]
    [InlineData(75, "AAAAcSGUdkWChqlYi4R3wIE9AAAAAAAAAAAAAAAAAF25eHS4aazKoWKqXaiZQYykYAAAAAAAAAAAAABXgGGohcWukiOIh5AfqlLUn0/KwoRAAAAAAABSUaR7YFBjcsNWSGaRfMtzyZNH45VNo8CdYwAA2FGiP4xIYJjBnptvaGN8YVGAbLpoRcGIbdcAAKAfdVVQt0C+h8N/hqpvml6FZ4qKqLFwh9SQAACvjlF8QHKSrq9Uhb4lf99Vs0ihVKl7eX5piwBkk8teb8WNhqVytbageo9xebFDmiidKLBS0owAQHGplY58rbyXQk99i7+EVaWPWZBSl5tvPZrKACNIdajMOWexWnCOs6A9VIbLaGjBjIZvZIBdg4xaMjpikMXNpYnYznYqUH2w6jpxv2JtilCiYlXL1eTHoYJpkoRFSHRbcIustqQ4dLblTaBeYqdKpqSossPb99lheqejpq+/1WsVP2+mkidxly1vanpsZWRqdombMxcVSYLD7XQsIUBlkMJSOn/LjXdIThxnfDpuy552VjsoGjUTGic6VHSbmYJ6d5CJb8O5oKWajZmjsqN+X0Y0KSQlLTxRbI634BxXms+fdlWVQNmkYCK5uo9sTjgnHhoeQThObI+qmImJWFugxaiKdnBuYmi3i2JAJRCLbrfttoZcUXedc5ajfnGaw2JJsWU+rqNvQi/s4c7Bu7vCz8GZAMuYTXOclmOLUYiZRnS1dj1i4LuchHNnY2dtfACaUqOTg/Z+g443o2itwHYyjr6OZEx/olBSv4gAlsWkq8VqRWetXlCEIbxvILOWWmOzv62SgW8AAIRWgYOqtEhXX4hfmWvDYy60ZyzgpnNGWNajAABcrFlHdc1mejlZZIGou09Si3WJlE83aad8XAAAIX+Fc+p7oqNhqjp8Kng1b1qPmWBsf5VXR4cAAAAAAECYo3RihjdfsCiWFYYjkEyzibS7olYAAAAAAAAAAAAAt6NYp6tafCaW1n9tjCe+aTGJAAAAAAAAAAAAAAAAANaahVo7n6J8nXOYa1uHPAAAAA==")]
    public void Rotate_Pattern_MatchesPillowExactly(int degrees, string expectedBase64)
    {
        var image = new byte[Size * Size];
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
                image[(y * Size) + x] = (byte)(((37 * x) + (91 * y) + (13 * x * y)) % 256);
        }
        var rotated = new byte[image.Length];

        new ImageRotation(degrees, Size, Size).Rotate(image, rotated);

        Assert.Equal(Convert.FromBase64String(expectedBase64), rotated);
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
