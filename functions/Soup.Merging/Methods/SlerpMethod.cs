using System.Buffers;
using System.Numerics.Tensors;

namespace Soup.Merging.Methods;

/// <summary>
/// Spherical linear interpolation of two models at t (Shoemake 1985, "Animating Rotation with Quaternion Curves",
/// SIGGRAPH), tensor by tensor as in mergekit's <c>slerp</c>. Without a base it interpolates the two flattened tensors
/// v₀, v₁; with a base it interpolates their task vectors vᵢ = θᵢ − base and adds the base back, as WARP does (Ramé et
/// al. 2024, "WARP: On the Benefits of Weight Averaged Rewarded Policies", arXiv:2406.16768). The angle Ω comes from the
/// dot product of the normalized vectors; the result is sin((1−t)Ω)/sin Ω·v₀ + sin(tΩ)/sin Ω·v₁ on the original
/// (unnormalized) vectors. When |cos Ω| &gt; 0.9995 (nearly colinear, as in mergekit) or either vector's norm is at most
/// 1e-8 (where mergekit would shrink the other vector), it falls back to linear interpolation (1−t)·v₀ + t·v₁.
/// Weights are not used. The angle needs the whole tensor, so the method is not elementwise. F64 tensors are merged in
/// double, the others in float (their angle computed in double).
/// </summary>
public sealed class SlerpMethod : Engine.IMergeMethodF64
{
    private const double ColinearThreshold = 0.9995;
    private const double ZeroNorm = 1e-8;

    private readonly double _t;

    /// <summary>Creates the method.</summary>
    /// <param name="t">Position between the first model (0) and the second (1), in [0, 1].</param>
    public SlerpMethod(double t) => _t = MethodGuards.Unit("t", t);

    /// <inheritdoc />
    public string Name => MergeMethods.Slerp;

    /// <inheritdoc />
    public bool IsElementwise => false;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase) => MethodGuards.Exactly(Name, memberCount, 2);

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        MethodGuards.WholeTensor(Name, chunk);
        Merge(chunk.Members, chunk.Base, chunk.Output, chunk.Length);
    }

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        MethodGuards.WholeTensor(Name, chunk);
        Merge(chunk.Members, chunk.Base, chunk.Output, chunk.Length);
    }

    /// <summary>The method in the chunk's precision.</summary>
    private void Merge<T>(T[][] members, T[]? baseValues, T[] outputValues, int length)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        MethodGuards.Exactly(Name, members.Length, 2);
        var output = outputValues.AsSpan(0, length);
        var first = members[0].AsSpan(0, length);
        var second = members[1].AsSpan(0, length);
        if (baseValues is null)
        {
            var (s0, s1) = Coefficients<T>(first, second);
            TensorPrimitives.Multiply<T>(first, s0, output);
            TensorPrimitives.MultiplyAdd<T>(second, s1, output, output);
            return;
        }

        var scratch0 = ArrayPool<T>.Shared.Rent(length);
        var scratch1 = ArrayPool<T>.Shared.Rent(length);
        try
        {
            var baseSpan = baseValues.AsSpan(0, length);
            var tau0 = scratch0.AsSpan(0, length);
            var tau1 = scratch1.AsSpan(0, length);
            TensorPrimitives.Subtract<T>(first, baseSpan, tau0);
            TensorPrimitives.Subtract<T>(second, baseSpan, tau1);
            var (s0, s1) = Coefficients<T>(tau0, tau1);
            TensorPrimitives.Multiply<T>(tau0, s0, tau0);
            TensorPrimitives.MultiplyAdd<T>(tau1, s1, tau0, tau0);
            TensorPrimitives.Add<T>(baseSpan, tau0, output);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch1);
            ArrayPool<T>.Shared.Return(scratch0);
        }
    }

    private (T S0, T S1) Coefficients<T>(ReadOnlySpan<T> v0, ReadOnlySpan<T> v1)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var norm0 = Math.Sqrt(TaskVectors.Dot(v0, v0));
        var norm1 = Math.Sqrt(TaskVectors.Dot(v1, v1));
        var lerp = (T.CreateTruncating(1 - _t), T.CreateTruncating(_t));
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
        return (T.CreateTruncating(Math.Sin((1 - _t) * omega) / sin), T.CreateTruncating(Math.Sin(_t * omega) / sin));
    }
}
