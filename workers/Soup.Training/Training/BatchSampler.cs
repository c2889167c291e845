namespace Soup.Training;

/// <summary>Yields batches of example indices from shuffled epochs, dropping each epoch's incomplete last batch.</summary>
internal sealed class BatchSampler(int count, int batchSize, int seed)
{
    private readonly Random random = new(seed);
    private readonly int[] order = Enumerable.Range(0, count).ToArray();
    private int position = count;

    /// <summary>Examples per batch: the requested size, or the whole data set when that is smaller.</summary>
    public int BatchSize { get; } = Math.Min(batchSize, count);

    /// <summary>The indices of the next batch.</summary>
    public long[] Next()
    {
        if (position + BatchSize > order.Length)
        {
            SeededShuffle.Shuffle(order, random);
            position = 0;
        }
        var batch = new long[BatchSize];
        for (var i = 0; i < batch.Length; i++)
            batch[i] = order[position + i];
        position += BatchSize;
        return batch;
    }
}
