using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>
/// RGB images of an image-folder dataset held as bytes (a uint8 tensor [N, 3, S, S]); batches are normalised floats,
/// augmented DomainBed's way when a <see cref="Random"/> is given. Dispose it to free the native memory.
/// </summary>
public sealed class FolderImages : ILabelledImages
{
    private readonly Tensor images;
    private readonly Tensor labels;
    private readonly Tensor mean;
    private readonly Tensor std;
    private readonly ImageStatistics statistics;

    /// <summary>Takes ownership of <paramref name="pixels"/> (uint8 [N, 3, S, S]) and <paramref name="labels"/> (int64 [N]).</summary>
    internal FolderImages(Tensor pixels, Tensor labels, int classes, ImageStatistics statistics)
    {
        images = pixels.DetachFromDisposeScope();
        this.labels = labels.DetachFromDisposeScope();
        this.statistics = statistics;
        mean = tensor(statistics.Mean.ToArray(), [1, 3, 1, 1]).DetachFromDisposeScope();
        std = tensor(statistics.Std.ToArray(), [1, 3, 1, 1]).DetachFromDisposeScope();
        Count = (int)labels.shape[0];
        Shape = new ModelShape(3, (int)pixels.shape[2], (int)pixels.shape[3], classes);
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public ModelShape Shape { get; }

    /// <inheritdoc />
    public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using var scope = NewDisposeScope();
        var index = tensor(indices);
        var selected = images.index_select(0, index);
        var batch = augment is null
            ? selected.to_type(ScalarType.Float32).div_(255).sub_(mean).div_(std)
            : Augment(selected, indices.Length, augment);
        var targets = labels.index_select(0, index);
        return (batch.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }

    private Tensor Augment(Tensor selected, int count, Random random)
    {
        var size = Shape.Height;
        var perImage = 3 * size * size;
        var bytes = selected.data<byte>().ToArray();
        var parameters = new AugmentationParameters[count];
        for (var i = 0; i < count; i++)
            parameters[i] = AugmentationParameters.Draw(random, size);
        var output = new float[(long)count * perImage];
        Parallel.For(0, count, i => ImageAugmentation.Apply(
            bytes.AsSpan(i * perImage, perImage), size, parameters[i], statistics, output.AsSpan(i * perImage, perImage)));
        return tensor(output, [count, 3, size, size]);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        images.Dispose();
        labels.Dispose();
        mean.Dispose();
        std.Dispose();
    }
}
