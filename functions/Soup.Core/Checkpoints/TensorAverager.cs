namespace Soup.Core.Checkpoints;

/// <summary>Reads <paramref name="destination"/>.Length bytes of the current tensor of member <paramref name="member"/>.</summary>
internal delegate void MemberChunkReader(int member, long byteOffset, Span<byte> destination);

/// <summary>
/// Averages one tensor across members in fixed-size chunks, so that memory stays bounded whatever the tensor size.
/// Both <see cref="CheckpointMerge"/> overloads go through here.
/// </summary>
internal sealed class TensorAverager
{
    private const int ChunkElements = 1 << 18;

    private readonly IReadOnlyList<string> _memberNames;
    private readonly int _chunkElements;
    private readonly MeanAccumulator _accumulator;
    private readonly byte[] _input;
    private readonly byte[] _output;

    /// <summary>Creates an averager for members named (in errors) <paramref name="memberNames"/>.</summary>
    /// <param name="memberNames">The members' names, for messages.</param>
    /// <param name="tensors">The tensors to be averaged; buffers are sized for the largest (up to one chunk).</param>
    public TensorAverager(IReadOnlyList<string> memberNames, IEnumerable<TensorInfo> tensors)
    {
        _memberNames = memberNames;
        _chunkElements = (int)Math.Clamp(tensors.Select(t => t.ElementCount).DefaultIfEmpty(0).Max(), 1, ChunkElements);
        _accumulator = new MeanAccumulator(_chunkElements);
        _input = new byte[_chunkElements * sizeof(double)];
        _output = new byte[_chunkElements * sizeof(double)];
    }

    /// <summary>Averages <paramref name="tensor"/> over all members and writes its bytes to <paramref name="destination"/>.</summary>
    /// <exception cref="InvalidDataException">A non-floating tensor differs between members.</exception>
    public void Average(TensorInfo tensor, MemberChunkReader read, Stream destination, CancellationToken cancellationToken)
    {
        var elementSize = tensor.Dtype.ElementSize();
        var chunkBytes = _chunkElements * elementSize;
        for (long offset = 0; offset < tensor.ByteLength; offset += chunkBytes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = (int)Math.Min(chunkBytes, tensor.ByteLength - offset);
            var input = _input.AsSpan(0, length);
            _accumulator.Begin(tensor.Dtype, length / elementSize);
            for (var member = 0; member < _memberNames.Count; member++)
            {
                read(member, offset, input);
                if (!_accumulator.Add(input))
                {
                    throw new InvalidDataException(
                        $"Tensor '{tensor.Name}' has dtype {tensor.Dtype}, which is not averaged, so every member must hold the same bytes; "
                        + $"but '{_memberNames[member]}' differs from '{_memberNames[0]}' (within bytes {offset}..{offset + length}).");
                }
            }

            var output = _output.AsSpan(0, length);
            _accumulator.WriteMean(output);
            destination.Write(output);
        }
    }
}
