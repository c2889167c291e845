namespace Soup.Merging.Checkpoints;

/// <summary>One named tensor held in memory as its raw little-endian bytes, row-major.</summary>
/// <param name="Name">The state-dict name, e.g. <c>conv1.weight</c>.</param>
/// <param name="Dtype">The element type.</param>
/// <param name="Shape">The shape; empty for a scalar.</param>
/// <param name="Data">The bytes: element size × product of the shape.</param>
public sealed record TensorData(string Name, SafetensorsDtype Dtype, long[] Shape, ReadOnlyMemory<byte> Data);
