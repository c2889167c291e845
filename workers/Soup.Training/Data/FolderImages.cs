using static TorchSharp.torch;
using Soup.Training.Models;

namespace Soup.Training.Data;

/// <summary>
/// RGB images of an image-folder dataset, held as the decoded bytes ([3, S, S] per image) the process-wide cache
/// already keeps, so a job adds no copy of them; batches are normalised float tensors, augmented DomainBed's way when a
/// <see cref="Random"/> is given. (Gathering the bytes here is much faster than libtorch's index_select on a uint8
/// tensor, which took hundreds of milliseconds per batch of 64 at 224×224.)
/// </summary>
public sealed class FolderImages : ILabelledImages
{
    private readonly IReadOnlyList<byte[]> _images;
    private readonly long[] _labels;
    private readonly ImageStatistics _statistics;
    private readonly int _size;
    private float[] _buffer = [];

    /// <summary>Images of 3 × <paramref name="size"/>² bytes each, channel-major, with their labels.</summary>
    internal FolderImages(IReadOnlyList<byte[]> images, long[] labels, int size, int classes, ImageStatistics statistics)
    {
        this._images = images;
        this._labels = labels;
        this._size = size;
        this._statistics = statistics;
        Count = labels.Length;
        Shape = new ModelShape(3, size, size, classes);
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public ModelShape Shape { get; }

    /// <inheritdoc />
    public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment)
    {
        ArgumentNullException.ThrowIfNull(indices);
        foreach (var index in indices)
        {
            if (index < 0 || index >= Count)
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Index outside the {Count} examples.");
        }

        // Augmentation choices are drawn in order on this thread, so a seed gives the same batch however work is scheduled.
        var parameters = augment is null ? null : indices.Select(_ => AugmentationParameters.Draw(augment, _size)).ToArray();
        var plane = _size * _size;
        var perImage = 3 * plane;
        // One thread at a time calls Batch and torch copies the floats, so the buffer is reused: fresh large arrays
        // cost page faults that took longer than the normalisation itself.
        var length = (long)indices.Length * perImage;
        if (_buffer.Length != length)
            _buffer = new float[length];
        var output = _buffer;
        Parallel.For(0, indices.Length, i =>
        {
            var source = _images[(int)indices[i]];
            var target = output.AsSpan(i * perImage, perImage);
            if (parameters is null)
                _statistics.Normalize(source, plane, target);
            else
                ImageAugmentation.Apply(source, _size, parameters[i], _statistics, target);
        });
        TorchSetup.Initialize();
        return (tensor(output, [indices.Length, 3, _size, _size]), tensor(indices.Select(i => _labels[i]).ToArray(), [indices.Length]));
    }

    /// <summary>Nothing to free: the bytes belong to the process-wide cache.</summary>
    public void Dispose()
    {
    }
}
