using static TorchSharp.torch;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>
/// Wraps data with an augmentation that adds noise drawn from the Random the trainer passes, and records whether any two
/// reads overlapped or a training read came without a Random.
/// </summary>
internal sealed class AugmentingImages(ILabelledImages inner) : ILabelledImages
{
    private int _reading;

    public int Count => inner.Count;

    public ModelShape Shape => inner.Shape;

    public bool Overlapped { get; private set; }

    public bool ReadWithoutAugment { get; private set; }

    public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment)
    {
        if (Interlocked.Increment(ref _reading) > 1)
            Overlapped = true;
        try
        {
            ReadWithoutAugment |= augment is null;
            var (images, labels) = inner.Batch(indices, null);
            if (augment is null)
                return (images, labels);
            var noise = new float[images.numel()];
            for (var i = 0; i < noise.Length; i++)
                noise[i] = (augment.NextSingle() - 0.5f) * 0.5f;
            using var noiseTensor = tensor(noise, images.shape);
            using (images)
                return (images.add(noiseTensor), labels);
        }
        finally
        {
            Interlocked.Decrement(ref _reading);
        }
    }

    public void Dispose()
    {
    }
}
