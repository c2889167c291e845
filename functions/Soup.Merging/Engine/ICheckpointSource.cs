using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>
/// A safetensors checkpoint open for reading, wherever it lives (a local file, a blob, a sharded set, memory):
/// its tensor list and metadata are known on open; tensor bytes are read on demand, by byte range.
/// </summary>
/// <remarks>
/// <para>Reads do not share a position: the engine issues several at once (different tensors, chunks and members),
/// so implementations must allow concurrent <see cref="ReadAsync"/> calls.</para>
/// <para>The engine may hand in a destination backed by a <see cref="float"/> or <see cref="double"/> array:
/// implementations should fill it through <see cref="Memory{T}.Span"/> (or copy into it from their own buffer),
/// not pass it to APIs that pin it at an unaligned offset.</para>
/// <para>Implementations own what they opened; the caller that opened a source disposes it.</para>
/// </remarks>
public interface ICheckpointSource : IAsyncDisposable
{
    /// <summary>A name for messages: the file path, or the container and blob name (never a SAS or key).</summary>
    string Name { get; }

    /// <summary>
    /// The tensors, in the source's order (data order; for a sharded source, shard by shard). Their data offsets are
    /// relative to the file or shard that holds them; read through <see cref="ReadAsync"/> by index in this list.
    /// </summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map (for a sharded source, the first shard's); empty when there is none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes of tensor <paramref name="tensorIndex"/>, starting
    /// <paramref name="byteOffset"/> bytes into the tensor. Completes only when every byte is in place.
    /// </summary>
    /// <exception cref="SafetensorsFormatException">The data ended early (e.g. the file was truncated after it was opened).</exception>
    /// <exception cref="IOException">The source changed or could not be read.</exception>
    ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>
    /// The most bytes the source holds in buffers of its own (read-ahead, copy buffers) under its current limit; 0 (the
    /// default) for sources that read straight into the caller's memory.
    /// </summary>
    long BufferBytes => 0;

    /// <summary>
    /// Asks the source to hold at most <paramref name="maxBytes"/> in buffers of its own for reads started from now on
    /// (the engine does, before its first read, to keep within <see cref="MergeEngineOptions.MemoryBudgetBytes"/>).
    /// </summary>
    /// <returns>The new <see cref="BufferBytes"/>, above <paramref name="maxBytes"/> only when the source cannot go that low.</returns>
    long LimitBuffers(long maxBytes) => BufferBytes;
}
