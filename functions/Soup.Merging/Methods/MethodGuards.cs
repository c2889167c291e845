using System.Globalization;

namespace Soup.Merging.Methods;

/// <summary>Argument checks shared by the merge methods and <see cref="MergeMethodFactory"/>, with the messages users see.</summary>
internal static class MethodGuards
{
    public static void AtLeast(string method, int memberCount, int min)
    {
        if (memberCount < min)
        {
            throw new ArgumentException($"{method} merges at least {min} model{Plural(min)}, got {memberCount}");
        }
    }

    public static void Exactly(string method, int memberCount, int count)
    {
        if (memberCount != count)
        {
            throw new ArgumentException($"{method} merges exactly {count} model{Plural(count)}, got {memberCount}");
        }
    }

    public static void NeedsBase(string method, bool hasBase)
    {
        if (!hasBase)
        {
            throw new ArgumentException($"{method} needs a base model (the init the members were fine-tuned from), got none");
        }
    }

    public static void WeightCount(string method, IReadOnlyList<double>? weights, int memberCount)
    {
        if (weights is not null && weights.Count != memberCount)
        {
            throw new ArgumentException($"{method} got {weights.Count} weight(s) for {memberCount} member(s)");
        }
    }

    /// <summary>The chunk's base values; throws when the engine passes none to a method that needs one.</summary>
    public static float[] Base(string method, MergeChunk chunk) =>
        chunk.Base ?? throw new ArgumentException($"{method} needs a base model, but tensor '{chunk.Tensor}' came without one");

    /// <summary>The F64 chunk's base values; throws when the engine passes none to a method that needs one.</summary>
    public static double[] Base(string method, Engine.MergeChunkF64 chunk) =>
        chunk.Base ?? throw new ArgumentException($"{method} needs a base model, but tensor '{chunk.Tensor}' came without one");

    /// <summary>Throws unless the chunk is a whole tensor (methods that are not elementwise).</summary>
    public static void WholeTensor(string method, MergeChunk chunk) =>
        WholeTensor(method, chunk.Tensor, chunk.Offset, chunk.Length, chunk.TensorLength);

    /// <summary>Throws unless the F64 chunk is a whole tensor (methods that are not elementwise).</summary>
    public static void WholeTensor(string method, Engine.MergeChunkF64 chunk) =>
        WholeTensor(method, chunk.Tensor, chunk.Offset, chunk.Length, chunk.TensorLength);

    private static void WholeTensor(string method, string tensor, long offset, int length, long tensorLength)
    {
        if (offset != 0 || length != tensorLength)
        {
            throw new ArgumentException(
                $"{method} merges whole tensors, got elements {offset}..{offset + length} of {tensorLength} of '{tensor}'");
        }
    }

    public static IReadOnlyList<double>? Weights(IReadOnlyList<double>? weights)
    {
        if (weights is null)
        {
            return null;
        }

        var copy = weights.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            if (!(Math.Abs(copy[i]) <= MergeParameters.MaxWeight))
            {
                throw new ArgumentException($"weights must be between -{MergeParameters.MaxWeight} and {MergeParameters.MaxWeight}, got {Format(copy[i])} at index {i}");
            }
        }

        return copy;
    }

    public static double Density(double density) =>
        density > 0 && density <= 1 ? density : throw new ArgumentException($"density must be in (0, 1], got {Format(density)}");

    public static double Unit(string name, double value) =>
        value >= 0 && value <= 1 ? value : throw new ArgumentException($"{name} must be in [0, 1], got {Format(value)}");

    public static double Lambda(double value) =>
        Math.Abs(value) <= MergeParameters.MaxLambda
            ? value
            : throw new ArgumentException($"lambda must be between -{MergeParameters.MaxLambda} and {MergeParameters.MaxLambda}, got {Format(value)}");

    /// <summary>wᵢ, or 1 when no weights were given.</summary>
    public static double Weight(IReadOnlyList<double>? weights, int member) => weights is null ? 1.0 : weights[member];

    private static string Plural(int count) => count == 1 ? "" : "s";

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
