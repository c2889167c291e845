using System.Buffers;
using System.Numerics.Tensors;

namespace Soup.Core.Merging;

/// <summary>
/// Spherical linear interpolation of two models at t (Shoemake 1985, "Animating Rotation with Quaternion Curves",
/// SIGGRAPH), tensor by tensor as in mergekit's <c>slerp</c>. Without a base it interpolates the two flattened tensors
/// v₀, v₁; with a base it interpolates their task vectors vᵢ = θᵢ − base and adds the base back, as WARP does (Ramé et
/// al. 2024, "WARP: On the Benefits of Weight Averaged Rewarded Policies", arXiv:2406.16768). The angle Ω comes from the
/// dot product of the normalized vectors; the result is sin((1−t)Ω)/sin Ω·v₀ + sin(tΩ)/sin Ω·v₁ on the original
/// (unnormalized) vectors. When |cos Ω| &gt; 0.9995 (nearly colinear, as in mergekit) or either vector's norm is at most
/// 1e-8 (where mergekit would shrink the other vector), it falls back to linear interpolation (1−t)·v₀ + t·v₁.
/// Weights are not used. The angle needs the whole tensor, so the method is not elementwise.
/// </summary>
public sealed class SlerpMethod : IMergeMethod
{
    private const double ColinearThreshold = 0.9995;
    private const double ZeroNorm = 1e-8;

    private readonly double _t;

    /// <summary>Creates the method.</summary>
    /// <param name="t">Position between the first model (0) and the second (1), in [0, 1].</param>
    public SlerpMethod(double t) => _t = MethodGuards.Unit("t", t);

    /// <inheritdoc />
    public string Name => "slerp";

    /// <inheritdoc />
    public bool IsElementwise => false;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase) => MethodGuards.Exactly(Name, memberCount, 2);

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        MethodGuards.WholeTensor(Name, chunk);
        MethodGuards.Exactly(Name, chunk.Members.Length, 2);
        var length = chunk.Length;
        var output = chunk.Output.AsSpan(0, length);
        var first = chunk.Members[0].AsSpan(0, length);
        var second = chunk.Members[1].AsSpan(0, length);
        if (chunk.Base is null)
        {
            var (s0, s1) = Coefficients(first, second);
            TensorPrimitives.Multiply(first, s0, output);
            TensorPrimitives.MultiplyAdd(second, s1, output, output);
            return;
        }

        var scratch0 = ArrayPool<float>.Shared.Rent(length);
        var scratch1 = ArrayPool<float>.Shared.Rent(length);
        try
        {
            var baseSpan = chunk.Base.AsSpan(0, length);
            var tau0 = scratch0.AsSpan(0, length);
            var tau1 = scratch1.AsSpan(0, length);
            TensorPrimitives.Subtract(first, baseSpan, tau0);
            TensorPrimitives.Subtract(second, baseSpan, tau1);
            var (s0, s1) = Coefficients(tau0, tau1);
            TensorPrimitives.Multiply(tau0, s0, tau0);
            TensorPrimitives.MultiplyAdd(tau1, s1, tau0, tau0);
            TensorPrimitives.Add(baseSpan, tau0, output);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch1);
            ArrayPool<float>.Shared.Return(scratch0);
        }
    }

    private (float S0, float S1) Coefficients(ReadOnlySpan<float> v0, ReadOnlySpan<float> v1)
    {
        var norm0 = Math.Sqrt(TaskVectors.Dot(v0, v0));
        var norm1 = Math.Sqrt(TaskVectors.Dot(v1, v1));
        var lerp = ((float)(1 - _t), (float)_t);
        if (norm0 <= ZeroNorm || norm1 <= ZeroNorm)
        {
            return lerp;
        }

        var cos = TaskVectors.Dot(v0, v1) / (norm0 * norm1);
        if (Math.Abs(cos) > ColinearThreshold)
        {
            return lerp;
        }

        var omega = Math.Acos(Math.Clamp(cos, -1, 1));
        var sin = Math.Sin(omega);
        return ((float)(Math.Sin((1 - _t) * omega) / sin), (float)(Math.Sin(_t * omega) / sin));
    }
}
