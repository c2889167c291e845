using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>
/// A local safetensors file: the header is read and validated on open (<see cref="SafetensorsFile"/>), tensor bytes
/// are read with positional reads. Reads complete synchronously (page-cache copies), so the engine runs them on its
/// reader thread without a thread-pool hop per read.
/// </summary>
public sealed class LocalFileSource : ICheckpointSource
{
    private readonly SafetensorsFile _file;

    private LocalFileSource(SafetensorsFile file) => _file = file;

    /// <inheritdoc />
    public string Name => _file.Path;

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors => _file.Tensors;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Metadata => _file.Metadata;

    /// <summary>Opens <paramref name="path"/> and validates its header against the file length.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks a rule of the format (truncated included).</exception>
    public static LocalFileSource Open(string path) => new(SafetensorsFile.Open(path));

    /// <inheritdoc />
    public ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            _file.ReadTensorBytes(_file.Tensors[tensorIndex], byteOffset, destination.Span);
            return ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _file.Dispose();
        return ValueTask.CompletedTask;
    }
}
