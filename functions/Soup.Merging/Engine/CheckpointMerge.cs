using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>
/// Averages the weights of checkpoints held in memory (a "uniform soup" of a few models: an evaluation's midpoint of
/// two members), with the streaming <see cref="MergeEngine"/> and its one set of kernels and conversions.
/// </summary>
/// <remarks>
/// <para>All members must hold the same tensor names, dtypes and shapes. The output keeps the first member's tensor order.</para>
/// <para>Floating tensors are averaged element-wise with equal weights (<see cref="LinearMethodF64"/>): F16, BF16 and
/// F32 accumulate in F32 (Σ xᵢ·(1/N)) and are written back in their own dtype with round-to-nearest-even; F64
/// accumulates in F64 (Σ xᵢ / N). Float8 tensors are not supported.</para>
/// <para>Non-floating tensors (integers and BOOL, e.g. BatchNorm's <c>num_batches_tracked</c>) are not averaged: by
/// default they must be byte-equal in every member, else the merge fails naming the tensor; the output copies the first
/// member's bytes.</para>
/// </remarks>
public static class CheckpointMerge
{
    /// <summary>The uniform average of in-memory members.</summary>
    /// <param name="members">One or more members, each a list of tensors.</param>
    /// <param name="names">What errors call each member (default: <c>member 0</c>, <c>member 1</c>, ...).</param>
    /// <param name="nonFloat">How non-floating tensors are taken (default: they must be equal).</param>
    /// <returns>New tensors, in the first member's order.</returns>
    /// <exception cref="InvalidDataException">The members differ in tensors, dtypes, shapes or non-floating bytes,
    /// or a tensor's data does not match its dtype and shape.</exception>
    public static IReadOnlyList<TensorData> UniformAverage(
        IReadOnlyList<IReadOnlyList<TensorData>> members, IReadOnlyList<string>? names = null, NonFloatTensorRule nonFloat = NonFloatTensorRule.RequireEqual)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentOutOfRangeException.ThrowIfZero(members.Count, nameof(members));
        var sources = members.Select((m, i) => (ICheckpointSource)new InMemorySource(names?[i] ?? $"member {i}", m)).ToArray();
        var target = new MemorySinkFactory();

        // In-memory sources and sink never wait on I/O: the engine's tasks complete without blocking on anything else.
        Task.Run(() => MergeEngine.RunAsync(sources, null, new CheckpointOutput(target), Method(), Options(nonFloat)))
            .GetAwaiter().GetResult();
        return Safetensors.Read(target.Files[ShardIndex.DefaultFileName], "merged").Tensors;
    }

    /// <summary>The uniform average: equal weights, normalized; F64 tensors in double.</summary>
    internal static LinearMethodF64 Method() => new(weights: null, normalize: true);

    /// <summary>Chunks of 2^18 elements, 2 in flight (a few MB of buffers), F64 in double, NaN/Inf passed through.</summary>
    internal static MergeEngineOptions Options(NonFloatTensorRule nonFloat = NonFloatTensorRule.RequireEqual, IReadOnlyDictionary<string, string>? metadata = null) => new()
    {
        ChunkElements = 1 << 18,
        PipelineDepth = 2,
        AccumulateInF64 = true,
        NonFinite = NonFinitePolicy.Ignore,
        NonFloatTensors = nonFloat,
        Metadata = metadata,
    };
}
