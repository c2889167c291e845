using System.Collections.Concurrent;

namespace Soup.Merging.Engine;

/// <summary>Output files kept in memory (tests, small in-process merges); only committed files are listed.</summary>
public sealed class MemorySinkFactory : ICheckpointSinkFactory
{
    private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    /// <summary>The committed files by name.</summary>
    public IReadOnlyDictionary<string, byte[]> Files => _files;

    /// <inheritdoc />
    public string Describe(string fileName) => "memory:" + fileName;

    /// <inheritdoc />
    public ICheckpointSink Create(string fileName, long length) => new MemorySink(this, fileName, checked((int)length));

    /// <inheritdoc />
    public ValueTask DeleteAsync(string fileName, CancellationToken cancellationToken)
    {
        _files.TryRemove(fileName, out _);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask AbandonAsync() => ValueTask.CompletedTask;

    private sealed class MemorySink(MemorySinkFactory owner, string fileName, int length) : ICheckpointSink
    {
        private readonly byte[] _bytes = new byte[length];
        private int _position;

        public string Name => owner.Describe(fileName);

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            data.Span.CopyTo(_bytes.AsSpan(_position));
            _position += data.Length;
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) =>
            _position == _bytes.Length
                ? ValueTask.CompletedTask
                : ValueTask.FromException(new InvalidOperationException($"'{Name}' was announced as {_bytes.Length} bytes, but {_position} were written."));

        public ValueTask CommitAsync(CancellationToken cancellationToken)
        {
            owner._files[fileName] = _bytes;
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
