using static TorchSharp.torch;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>Data with a size and shape but no examples to read: for checks that must fail before any batch is read.</summary>
public sealed class ShapeOnlyImages(int count, ModelShape shape) : ILabelledImages
{
    public int Count => count;

    public ModelShape Shape => shape;

    public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment) =>
        throw new InvalidOperationException("No batch should be read.");

    public void Dispose()
    {
    }
}
