namespace Soup.Merging.Checkpoints;

/// <summary>One tensor as described by a safetensors header: where its bytes lie in the data buffer.</summary>
/// <param name="Name">The state-dict name.</param>
/// <param name="Dtype">The element type.</param>
/// <param name="Shape">The shape; empty for a scalar.</param>
/// <param name="DataBegin">The offset of the first byte, relative to the start of the data buffer.</param>
/// <param name="DataEnd">The offset one past the last byte, relative to the start of the data buffer.</param>
public sealed record TensorInfo(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, long DataBegin, long DataEnd)
{
    /// <summary>The number of bytes: <see cref="DataEnd"/> − <see cref="DataBegin"/>.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>The number of elements: the product of the shape (1 for a scalar).</summary>
    public long ElementCount => ByteLength / Dtype.ElementSize();

    /// <summary>The shape written as in the header, e.g. <c>[3, 4]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(IReadOnlyList<long> shape) => $"[{string.Join(", ", shape)}]";
}
