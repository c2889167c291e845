using Soup.Core.Merging.Engine;

namespace Soup.Core.Checkpoints;

/// <summary>
/// Averages the weights of several fine-tuned copies of one model (a "uniform soup").
/// </summary>
/// <remarks>
/// <para>All members must hold the same tensor names, dtypes and shapes. The output keeps the first member's tensor order.</para>
/// <para>Floating tensors are averaged element-wise with equal weights by the streaming <see cref="MergeEngine"/> and
/// <see cref="LinearMethodF64"/>: F16, BF16 and F32 accumulate in F32 (Σ xᵢ·(1/N)) and are written back in their own dtype
/// with round-to-nearest-even; F64 accumulates in F64 (Σ xᵢ / N). Float8 tensors are not supported.</para>
/// <para>Non-floating tensors (integers and BOOL, e.g. BatchNorm's <c>num_batches_tracked</c>) are not averaged: they must be
/// byte-equal in every member, else the merge fails naming the tensor; the output copies the first member's bytes.</para>
/// </remarks>
public static class CheckpointMerge
{
    /// <summary>
    /// Writes the uniform average of the safetensors files <paramref name="inputPaths"/> to <paramref name="outputPath"/>,
    /// reading one chunk of one tensor at a time. The output appears atomically: it is written to
    /// <c>outputPath + ".partial-" + random</c> in the same folder and moved into place only when complete; on failure or
    /// cancellation that file is deleted and <paramref name="outputPath"/> is left as it was.
    /// See <see cref="CheckpointMerge"/> for the averaging rules.
    /// </summary>
    /// <param name="inputPaths">One or more safetensors files.</param>
    /// <param name="outputPath">The file to create or replace.</param>
    /// <param name="metadata">The output's <c>__metadata__</c>; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Checked before every chunk.</param>
    /// <exception cref="SafetensorsFormatException">An input is malformed.</exception>
    /// <exception cref="InvalidDataException">The inputs differ in tensors, dtypes or shapes, or in a non-floating tensor's bytes.</exception>
    public static MergeSummary UniformAverage(
        IReadOnlyList<string> inputPaths,
        string outputPath,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputPaths);
        ArgumentOutOfRangeException.ThrowIfZero(inputPaths.Count, nameof(inputPaths));
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        foreach (var path in inputPaths)
        {
            ArgumentException.ThrowIfNullOrEmpty(path, nameof(inputPaths));
        }

        // A thin shell over the streaming engine: uniform linear weights, F64 averaged in double, the output renamed into place.
        return Task.Run(async () =>
        {
            var sources = new List<ICheckpointSource>(inputPaths.Count);
            try
            {
                foreach (var path in inputPaths)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    sources.Add(LocalFileSource.Open(path));
                }

                var summary = await MergeEngine.RunAsync(
                    sources, null, CheckpointOutput.ToFile(outputPath), UniformMethod(), EngineOptions(metadata), cancellationToken);
                return ToSummary(summary);
            }
            finally
            {
                foreach (var source in sources)
                {
                    await source.DisposeAsync();
                }
            }
        }).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Averages in-memory members with the same rules and kernel as the file overload.
    /// See <see cref="CheckpointMerge"/> for the averaging rules.
    /// </summary>
    /// <param name="members">One or more members, each a list of tensors.</param>
    /// <returns>New tensors, in the first member's order.</returns>
    /// <exception cref="InvalidDataException">The members differ in tensors, dtypes, shapes or non-floating bytes,
    /// or a tensor's data does not match its dtype and shape.</exception>
    public static IReadOnlyList<TensorData> UniformAverage(IReadOnlyList<IReadOnlyList<TensorData>> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentOutOfRangeException.ThrowIfZero(members.Count, nameof(members));
        var sources = members.Select((m, i) => (ICheckpointSource)new InMemorySource($"member {i}", m)).ToArray();
        var target = new MemorySinkFactory();
        Task.Run(() => MergeEngine.RunAsync(sources, null, new CheckpointOutput(target), UniformMethod(), EngineOptions(null))).GetAwaiter().GetResult();
        var bytes = target.Files[ShardIndex.DefaultFileName];
        return Safetensors.Read(bytes, "merged").Tensors;
    }

    /// <summary>Chunks of 2^18 elements, 2 in flight: a few MB of buffers, as before the engine.</summary>
    private static MergeEngineOptions EngineOptions(IReadOnlyDictionary<string, string>? metadata) => new()
    {
        ChunkElements = 1 << 18,
        PipelineDepth = 2,
        AccumulateInF64 = true,
        NonFinite = NonFinitePolicy.Ignore,
        NonFloatTensors = NonFloatTensorRule.RequireEqual,
        Metadata = metadata,
    };

    private static LinearMethodF64 UniformMethod() => new(weights: null, normalize: true);

    private static MergeSummary ToSummary(MergeEngineSummary summary) =>
        new(summary.TensorCount, summary.ParameterCount, summary.BytesWritten, summary.MemberCount);
}
