using Soup.Training.Data;
namespace Soup.Training.FineTuning;

/// <summary>
/// The example indices of every step: epochs of <c>count / batchSize</c> full batches (each epoch's incomplete last
/// batch is dropped), each epoch a permutation seeded by (seed, epoch), so any step's batch is known without the
/// steps before it.
/// </summary>
internal sealed class BatchSampler
{
    private readonly int _seed;
    private readonly int[] _order;
    private readonly int _batchesPerEpoch;
    private long _epoch = -1;

    /// <summary>Creates the sampler; <paramref name="batchSize"/> must be in [1, <paramref name="count"/>].</summary>
    public BatchSampler(int count, int batchSize, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, count);
        this._seed = seed;
        BatchSize = batchSize;
        _order = new int[count];
        _batchesPerEpoch = count / batchSize;
    }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>The indices of the batch of <paramref name="step"/> (1-based).</summary>
    public long[] Indices(int step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var position = (step - 1L) % _batchesPerEpoch;
        var stepEpoch = (step - 1L) / _batchesPerEpoch;
        if (stepEpoch != _epoch)
        {
            for (var i = 0; i < _order.Length; i++)
                _order[i] = i;
            SeededShuffle.Shuffle(_order, new Random(StreamSeed.Of(_seed, StreamSeed.Shuffle, stepEpoch)));
            _epoch = stepEpoch;
        }
        var batch = new long[BatchSize];
        var start = (int)(position * BatchSize);
        for (var i = 0; i < batch.Length; i++)
            batch[i] = _order[start + i];
        return batch;
    }
}
