using static TorchSharp.torch;
using Soup.Training.Models;

namespace Soup.Training.Data;

/// <summary>Labelled grayscale images held as CPU tensors; dispose it to free the native memory.</summary>
public sealed class ImageClassificationData : ILabelledImages
{
    private ImageClassificationData(Tensor images, Tensor labels, int classes)
    {
        Images = images.DetachFromDisposeScope();
        Labels = labels.DetachFromDisposeScope();
        Count = (int)labels.shape[0];
        Shape = new ModelShape((int)images.shape[1], (int)images.shape[2], (int)images.shape[3], classes);
    }

    /// <summary>Images as float32 [N, 1, rows, columns]: pixels scaled to [0, 1], then normalised.</summary>
    public Tensor Images { get; }

    /// <summary>Class indices as int64 [N].</summary>
    public Tensor Labels { get; }

    /// <summary>The number of examples, N.</summary>
    public int Count { get; }

    /// <inheritdoc />
    public ModelShape Shape { get; }

    /// <inheritdoc />
    public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment)
    {
        using var index = tensor(indices);
        return (Images.index_select(0, index), Labels.index_select(0, index));
    }

    /// <summary>Wraps tensors already decoded (images float32 [N, C, H, W], labels int64 [N]); takes ownership of them.</summary>
    public static ImageClassificationData FromTensors(Tensor images, Tensor labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.dim() != 4 || labels.dim() != 1 || images.shape[0] != labels.shape[0])
            throw new ArgumentException($"Images must be [N, C, H, W] and labels [N]; got [{string.Join(", ", images.shape)}] and [{string.Join(", ", labels.shape)}].");
        return new ImageClassificationData(images, labels, classes);
    }

    /// <summary>Builds the data set from decoded IDX content, keeping every example in order.</summary>
    /// <exception cref="ArgumentException">The label count differs from the image count.</exception>
    public static ImageClassificationData FromIdx(IdxImages images, ReadOnlySpan<byte> labels, ImageNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(images);
        return FromIdx(images, labels, Enumerable.Range(0, images.Count).ToArray(), normalization);
    }

    /// <summary>Builds the data set from the examples at <paramref name="indices"/>, in that order.</summary>
    internal static ImageClassificationData FromIdx(
        IdxImages images, ReadOnlySpan<byte> labels, IReadOnlyList<int> indices, ImageNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(normalization);
        if (labels.Length != images.Count)
            throw new ArgumentException($"{labels.Length} labels for {images.Count} images.", nameof(labels));
        if (!(normalization.Std > 0))
            throw new ArgumentException($"Std must be positive, was {normalization.Std}.", nameof(normalization));

        TorchSetup.Initialize();
        var size = images.PixelsPerImage;
        var pixels = new float[(long)indices.Count * size];
        var targets = new long[indices.Count];
        var scale = (float)(1 / (255 * normalization.Std));
        var shift = (float)(normalization.Mean / normalization.Std);
        var source = images.Pixels.Span;
        for (var i = 0; i < indices.Count; i++)
        {
            var index = indices[i];
            var image = source.Slice(index * size, size);
            var target = pixels.AsSpan(i * size, size);
            for (var p = 0; p < size; p++)
                target[p] = (image[p] * scale) - shift;
            targets[i] = labels[index];
        }
        return new ImageClassificationData(
            tensor(pixels, [indices.Count, 1, images.Rows, images.Columns]),
            tensor(targets, [indices.Count]),
            SmallCnn.ClassCount);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
