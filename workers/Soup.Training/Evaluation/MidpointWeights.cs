using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

namespace Soup.Training.Evaluation;

/// <summary>The weight midpoint of two checkpoints of one model, for the linear connectivity check.</summary>
public static class MidpointWeights
{
    /// <summary>
    /// Returns <c>0.5 · (a + b)</c> for every floating tensor, in <paramref name="first"/>'s order and dtypes. F32, F16
    /// and BF16 are computed in float32 and rounded back to nearest even; F64 in double. Tensors that do not hold
    /// floating-point numbers (e.g. BatchNorm's <c>num_batches_tracked</c>) are <paramref name="first"/>'s, unchanged.
    /// </summary>
    /// <param name="first">The first checkpoint (A).</param>
    /// <param name="second">The second checkpoint (B): the same names, dtypes and shapes, in any order.</param>
    /// <param name="firstName">Names A in errors.</param>
    /// <param name="secondName">Names B in errors.</param>
    /// <exception cref="InvalidDataException">
    /// The two hold different tensor names, dtypes or shapes, a tensor's byte count does not match its shape, or a tensor
    /// is float8; the message names both checkpoints and the tensor.
    /// </exception>
    public static IReadOnlyList<TensorData> Compute(
        IReadOnlyList<TensorData> first, IReadOnlyList<TensorData> second, string firstName, string secondName)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var pair = $"midpoint of '{firstName}' and '{secondName}'";
        var byName = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var tensor in second)
        {
            if (!byName.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"{pair}: tensor '{tensor.Name}' appears twice in '{secondName}'.");
        }
        if (first.Count != second.Count || first.Any(t => !byName.ContainsKey(t.Name)))
            throw new InvalidDataException($"{pair}: the two checkpoints hold different tensor names.");

        var ordered = new List<TensorData>(first.Count);
        foreach (var a in first)
        {
            var b = byName[a.Name];
            if (a.Dtype != b.Dtype || !a.Shape.AsSpan().SequenceEqual(b.Shape))
                throw new InvalidDataException(
                    $"{pair}: tensor '{a.Name}' is {a.Dtype} [{string.Join(", ", a.Shape)}] in '{firstName}' but {b.Dtype} [{string.Join(", ", b.Shape)}] in '{secondName}'.");
            var bytes = a.Shape.Aggregate(1L, (n, d) => n * d) * a.Dtype.ElementSize();
            if (a.Data.Length != bytes || b.Data.Length != bytes)
                throw new InvalidDataException($"{pair}: tensor '{a.Name}' should hold {bytes} bytes.");
            if (a.Dtype.IsFloatingPoint() && !a.Dtype.IsMergeable())
                throw new InvalidDataException($"{pair}: tensor '{a.Name}' is {a.Dtype}, which is not averaged here.");
            ordered.Add(b);
        }

        // The merge engine's uniform average of the two: its kernels and dtype conversions, not a second copy of them.
        return CheckpointMerge.UniformAverage([first, ordered], [firstName, secondName], NonFloatTensorRule.FirstMember);
    }
}
