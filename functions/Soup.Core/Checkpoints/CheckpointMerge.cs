namespace Soup.Core.Checkpoints;

/// <summary>
/// Averages the weights of several fine-tuned copies of one model (a "uniform soup").
/// </summary>
/// <remarks>
/// <para>All members must hold the same tensor names, dtypes and shapes. The output keeps the first member's tensor order.</para>
/// <para>Floating tensors are averaged element-wise with equal weights: F16, BF16 and F32 accumulate in F32 and are
/// written back in their own dtype with round-to-nearest-even; F64 accumulates in F64. Float8 tensors are not supported.</para>
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

        var temporaryPath = $"{outputPath}.partial-{Guid.NewGuid():N}";
        try
        {
            var summary = WriteAverage(inputPaths, temporaryPath, metadata, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temporaryPath, outputPath, overwrite: true);
            return summary;
        }
        catch
        {
            TryDelete(temporaryPath);
            throw;
        }
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
        var names = Enumerable.Range(0, members.Count).Select(i => $"member {i}").ToArray();
        MergeMembers.EnsureCompatible([.. members.Select(m => m.Select(ToLayout).ToArray())], names);
        var byName = members.Select(m => m.ToDictionary(t => t.Name, StringComparer.Ordinal)).ToArray();
        var layout = SafetensorsHeaderWriter.Encode(members[0].Select(ToLayout), null).Tensors;
        for (var m = 0; m < members.Count; m++)
        {
            foreach (var tensor in layout)
            {
                var length = byName[m][tensor.Name].Data.Length;
                if (length != tensor.ByteLength)
                {
                    throw new InvalidDataException(
                        $"Cannot merge '{names[m]}': tensor '{tensor.Name}' has {length} bytes, but {tensor.Dtype} {tensor.ShapeText} needs {tensor.ByteLength}.");
                }
            }
        }

        var averager = new TensorAverager(names, layout);
        var result = new List<TensorData>(layout.Count);
        foreach (var tensor in layout)
        {
            var bytes = new byte[tensor.ByteLength];
            using var stream = new MemoryStream(bytes);
            averager.Average(
                tensor,
                (member, offset, destination) => byName[member][tensor.Name].Data.Span.Slice((int)offset, destination.Length).CopyTo(destination),
                stream,
                CancellationToken.None);
            result.Add(new TensorData(tensor.Name, tensor.Dtype, [.. tensor.Shape], bytes));
        }

        return result;
    }

    private static MergeSummary WriteAverage(
        IReadOnlyList<string> inputPaths, string temporaryPath, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var inputs = new List<SafetensorsFile>(inputPaths.Count);
        try
        {
            foreach (var path in inputPaths)
            {
                cancellationToken.ThrowIfCancellationRequested();
                inputs.Add(SafetensorsFile.Open(path));
            }

            MergeMembers.EnsureCompatible([.. inputs.Select(f => f.Tensors.Select(ToLayout).ToArray())], inputPaths);
            var header = SafetensorsHeaderWriter.Encode(inputs[0].Tensors.Select(ToLayout), metadata);
            var averager = new TensorAverager(inputPaths, header.Tensors);
            using var output = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            output.Write(header.Prefix);
            foreach (var tensor in header.Tensors)
            {
                var sources = inputs.Select(f => f.GetTensor(tensor.Name)).ToArray();
                averager.Average(
                    tensor,
                    (member, offset, destination) => inputs[member].ReadTensorBytes(sources[member], offset, destination),
                    output,
                    cancellationToken);
            }

            output.Flush(flushToDisk: true);
            return new MergeSummary(header.Tensors.Count, header.Tensors.Sum(t => t.ElementCount), output.Length, inputs.Count);
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Dispose();
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the merge's own exception is the one worth reporting.
        }
    }

    private static TensorLayout ToLayout(TensorData tensor) => new(tensor.Name, tensor.Dtype, tensor.Shape);

    private static TensorLayout ToLayout(TensorInfo tensor) => new(tensor.Name, tensor.Dtype, tensor.Shape);
}
