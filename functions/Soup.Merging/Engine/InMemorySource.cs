using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>A checkpoint held in memory as <see cref="TensorData"/> (tests, small in-process merges).</summary>
public sealed class InMemorySource : ICheckpointSource
{
    private readonly ReadOnlyMemory<byte>[] _data;

    /// <summary>Wraps <paramref name="tensors"/>, laid out contiguously in the order given.</summary>
    /// <param name="name">The name used in messages.</param>
    /// <param name="tensors">The tensors; each one's data must be element size × product of its shape bytes.</param>
    /// <param name="metadata">The <c>__metadata__</c> map; empty when <see langword="null"/>.</param>
    /// <exception cref="InvalidDataException">A tensor's data length does not match its dtype and shape.</exception>
    /// <exception cref="ArgumentException">A name is repeated or reserved, or a dimension is negative.</exception>
    public InMemorySource(string name, IReadOnlyList<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tensors);
        Name = name;
        var layout = SafetensorsHeaderWriter.Encode(tensors.Select(t => new TensorLayout(t.Name, t.Dtype, t.Shape)), null).Tensors;
        for (var i = 0; i < layout.Count; i++)
        {
            if (tensors[i].Data.Length != layout[i].ByteLength)
            {
                throw new InvalidDataException(
                    $"Cannot merge '{name}': tensor '{layout[i].Name}' has {tensors[i].Data.Length} bytes, but {layout[i].Dtype} {layout[i].ShapeText} needs {layout[i].ByteLength}.");
            }
        }

        Tensors = layout;
        Metadata = metadata ?? new Dictionary<string, string>();
        _data = [.. tensors.Select(t => t.Data)];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        _data[tensorIndex].Span.Slice(checked((int)byteOffset), destination.Length).CopyTo(destination.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
