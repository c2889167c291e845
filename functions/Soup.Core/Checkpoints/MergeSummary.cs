namespace Soup.Core.Checkpoints;

/// <summary>What a merge wrote.</summary>
/// <param name="TensorCount">The number of tensors in the output.</param>
/// <param name="ParameterCount">The number of elements over all tensors (non-floating ones included).</param>
/// <param name="BytesWritten">The size of the output file: length prefix, header and data.</param>
/// <param name="MemberCount">The number of checkpoints averaged.</param>
public sealed record MergeSummary(int TensorCount, long ParameterCount, long BytesWritten, int MemberCount);
