using System.Diagnostics.CodeAnalysis;
using Microsoft.Win32.SafeHandles;

namespace Soup.Merging.Checkpoints;

/// <summary>
/// A safetensors file opened for random access: only the header is read and validated on open; tensors are
/// read on demand with positional reads, so memory use is bounded by what the caller asks for.
/// Reads do not share a file position, so they may run concurrently.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, TensorInfo> _byName;

    /// <summary>Opens <paramref name="path"/> for reading and validates its header against the file length.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks a rule of the format.</exception>
    public SafetensorsFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            var length = RandomAccess.GetLength(_handle);
            Span<byte> probe = stackalloc byte[SafetensorsHeaderReader.LengthPrefixSize];
            if (length < probe.Length && RandomAccess.Read(_handle, probe, 0) > length)
            {
                // A device such as /dev/zero reports no length yet reads on: not a file of known length.
                throw new SafetensorsFormatException($"'{path}' is not a regular file (it reads past its reported length of {length} bytes, as a device or pipe does): a checkpoint must be a file.");
            }

            Span<byte> prefix = stackalloc byte[SafetensorsHeaderReader.LengthPrefixSize];
            ReadExactly(_handle, prefix[..(int)Math.Min(prefix.Length, length)], 0, path, null);
            var headerLength = SafetensorsHeaderReader.ReadHeaderLength(prefix, length, path);
            var json = new byte[headerLength];
            ReadExactly(_handle, json, prefix.Length, path, null);
            DataStart = prefix.Length + (long)headerLength;
            var header = SafetensorsHeaderReader.Parse(json, length - DataStart, path);
            Path = path;
            Tensors = header.Tensors;
            Metadata = header.Metadata;
            _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    /// <summary>The path the file was opened from; error messages name it.</summary>
    public string Path { get; }

    /// <summary>The absolute file offset of the data buffer (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>The tensors in data order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens <paramref name="path"/>; the same as the constructor.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks a rule of the format.</exception>
    public static SafetensorsFile Open(string path) => new(path);

    /// <summary>Finds a tensor by name.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out TensorInfo? tensor) =>
        _byName.TryGetValue(name, out tensor);

    /// <summary>Finds a tensor by name.</summary>
    /// <exception cref="KeyNotFoundException">The file has no tensor of that name.</exception>
    public TensorInfo GetTensor(string name) =>
        TryGetTensor(name, out var tensor)
            ? tensor
            : throw new KeyNotFoundException($"'{Path}' has no tensor named '{name}'.");

    /// <summary>Reads a whole tensor into <paramref name="destination"/>, which must be exactly its byte length.</summary>
    public void ReadTensor(string name, Span<byte> destination) => ReadTensor(GetTensor(name), destination);

    /// <summary>Reads a whole tensor into <paramref name="destination"/>, which must be exactly its byte length.</summary>
    public void ReadTensor(TensorInfo tensor, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (destination.Length != tensor.ByteLength)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' is {tensor.ByteLength} bytes; the destination holds {destination.Length}.", nameof(destination));
        }

        ReadTensorBytes(tensor, 0, destination);
    }

    /// <summary>Reads a whole tensor into a new array (tensors of 2 GiB or more need the chunked overload).</summary>
    public byte[] ReadTensor(string name) => ReadTensor(GetTensor(name));

    /// <summary>Reads a whole tensor into a new array (tensors of 2 GiB or more need the chunked overload).</summary>
    public byte[] ReadTensor(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = new byte[tensor.ByteLength];
        ReadTensor(tensor, bytes);
        return bytes;
    }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes of a tensor, starting <paramref name="offset"/> bytes into it,
    /// so that a large tensor can be processed in chunks.
    /// </summary>
    public void ReadTensorBytes(TensorInfo tensor, long offset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (!_byName.TryGetValue(tensor.Name, out var own) || own.DataBegin != tensor.DataBegin || own.DataEnd != tensor.DataEnd)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' does not describe a tensor of '{Path}'.", nameof(tensor));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + destination.Length, tensor.ByteLength, nameof(destination));
        ReadExactly(_handle, destination, DataStart + tensor.DataBegin + offset, Path, tensor.Name);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long fileOffset, string path, string? tensor)
    {
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(handle, destination, fileOffset);
            if (read == 0)
            {
                throw new SafetensorsFormatException(path, tensor, $"the file ended at byte {fileOffset} while reading (was it truncated after it was opened?)");
            }

            destination = destination[read..];
            fileOffset += read;
        }
    }
}
