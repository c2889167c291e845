namespace Soup.Training.Models;

/// <summary>What a model takes and predicts: images of <see cref="Channels"/>×<see cref="Height"/>×<see cref="Width"/>, <see cref="Classes"/> classes.</summary>
public sealed record ModelShape(int Channels, int Height, int Width, int Classes)
{
    /// <summary>MNIST and Fashion-MNIST: 1×28×28 grayscale, 10 classes.</summary>
    public static ModelShape Mnist { get; } = new(1, 28, 28, 10);

    /// <inheritdoc />
    public override string ToString() => $"{Channels}×{Height}×{Width} images, {Classes} classes";
}
