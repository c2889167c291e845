namespace Soup.Merging;

/// <summary>
/// A way of merging N member tensors (and optionally a base) into one, applied tensor by tensor on F32 values.
/// Implementations are stateless apart from their parameters and safe to call from several threads at once.
/// </summary>
public interface IMergeMethod
{
    /// <summary>The method's name as written in specs and on the command line (e.g. <c>linear</c>).</summary>
    string Name { get; }

    /// <summary>
    /// True when output element i depends only on element i of the inputs (and on i itself, e.g. for seeded random
    /// drops): the engine may then stream a tensor in chunks. False: the engine passes each tensor whole, in one chunk.
    /// </summary>
    bool IsElementwise { get; }

    /// <summary>Checks the member count and the presence of a base before anything is read; throws
    /// <see cref="ArgumentException"/> naming the problem (e.g. "slerp merges exactly 2 models, got 3").</summary>
    void Validate(int memberCount, bool hasBase);

    /// <summary>Merges one chunk of one tensor into <see cref="MergeChunk.Output"/>.</summary>
    void Merge(MergeChunk chunk);
}

/// <summary>
/// One chunk of one tensor: <see cref="Length"/> values starting at element <see cref="Offset"/> of tensor
/// <see cref="Tensor"/> (whole tensor when the method is not elementwise), for every member and the base.
/// Buffers may be longer than <see cref="Length"/>; only the first <see cref="Length"/> values count.
/// </summary>
public sealed class MergeChunk
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
    public required float[][] Members { get; init; }

    /// <summary>The base's values, or null when the merge has no base.</summary>
    public float[]? Base { get; init; }

    /// <summary>Where the merged values go.</summary>
    public required float[] Output { get; init; }
}
