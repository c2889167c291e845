using System.Numerics.Tensors;

namespace Soup.Merging.Engine;

/// <summary>
/// A merge method that can also merge in double precision. With <see cref="MergeEngineOptions.AccumulateInF64"/> the
/// engine hands tensors stored as F64 to <see cref="MergeF64"/> instead of converting them to F32; other dtypes still
/// go through <see cref="IMergeMethod.Merge"/>.
/// </summary>
public interface IMergeMethodF64 : IMergeMethod
{
    /// <summary>Merges one chunk of one F64 tensor into <see cref="MergeChunkF64.Output"/>.</summary>
    void MergeF64(MergeChunkF64 chunk);
}

/// <summary>The double-precision twin of <see cref="MergeChunk"/>; the same rules apply.</summary>
public sealed class MergeChunkF64
{
    /// <summary>The tensor's name.</summary>
    public required string Tensor { get; init; }

    /// <summary>The element index of the chunk's first value within the tensor.</summary>
    public required long Offset { get; init; }

    /// <summary>The number of values in the chunk.</summary>
    public required int Length { get; init; }

    /// <summary>The tensor's total element count.</summary>
    public required long TensorLength { get; init; }

    /// <summary>The members' values, in member order.</summary>
    public required double[][] Members { get; init; }

    /// <summary>The base's values, or null when the merge has no base.</summary>
    public double[]? Base { get; init; }

    /// <summary>Where the merged values go.</summary>
    public required double[] Output { get; init; }
}

/// <summary>
/// <see cref="LinearMethod"/> (weighted average; equal weights: the uniform soup) with a double-precision kernel for
/// F64 tensors. F16/BF16/F32 tensors go through <see cref="LinearMethod"/> itself. Equal normalized weights sum in
/// double and divide by N once; explicit weights compute Σ (wᵢ/Σw) θᵢ in double.
/// </summary>
public sealed class LinearMethodF64 : IMergeMethodF64
{
    private readonly LinearMethod _inner;
    private readonly IReadOnlyList<double>? _weights;
    private readonly bool _normalize;

    /// <summary>The same arguments as <see cref="LinearMethod"/>.</summary>
    public LinearMethodF64(IReadOnlyList<double>? weights, bool normalize)
    {
        _inner = new LinearMethod(weights, normalize);
        _weights = weights;
        _normalize = normalize;
    }

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <inheritdoc />
    public bool IsElementwise => _inner.IsElementwise;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase) => _inner.Validate(memberCount, hasBase);

    /// <inheritdoc />
    public void Merge(MergeChunk chunk) => _inner.Merge(chunk);

    /// <inheritdoc />
    public void MergeF64(MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var n = chunk.Members.Length;
        var output = chunk.Output.AsSpan(0, chunk.Length);
        if (_weights is null)
        {
            chunk.Members[0].AsSpan(0, chunk.Length).CopyTo(output);
            for (var k = 1; k < n; k++)
            {
                TensorPrimitives.Add(output, chunk.Members[k].AsSpan(0, chunk.Length), output);
            }

            if (_normalize)
            {
                TensorPrimitives.Divide(output, n, output);
            }

            return;
        }

        var sum = _weights.Sum();
        for (var k = 0; k < n; k++)
        {
            var scale = _normalize ? _weights[k] / sum : _weights[k];
            var member = chunk.Members[k].AsSpan(0, chunk.Length);
            if (k == 0)
            {
                TensorPrimitives.Multiply(member, scale, output);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(member, scale, output, output);
            }
        }
    }
}
