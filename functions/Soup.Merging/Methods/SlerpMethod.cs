using System.Buffers;
using System.Numerics.Tensors;

namespace Soup.Merging.Methods;

/// <summary>
/// Spherical linear interpolation (Shoemake 1985, "Animating Rotation with Quaternion Curves", SIGGRAPH), tensor by
/// tensor, in mergekit's two conventions (v0.1.4):
/// <list type="bullet">
/// <item><c>slerp</c>: between two models v₀ and v₁ at t (t = 0: v₀). With a base, the base is v₀ and exactly one
/// member is v₁ (mergekit's <c>base_model</c> is one endpoint). Each vector is divided by its norm when the norm is over
/// 1e-8; when |cos Ω| &gt; 0.9995 the result is the linear interpolation (1−t)·v₀ + t·v₁, else
/// sin((1−t)Ω)/sin Ω·v₀ + sin(tΩ)/sin Ω·v₁ on the original vectors. (mergekit computes it in float32; here F64 tensors
/// stay in double.)</item>
/// <item><c>nuslerp</c>: of two members; with a base, of their task vectors θᵢ − base, the base added back (WARP's SLERP,
/// Ramé et al. 2024, arXiv:2406.16768). t = w₁/(w₀ + w₁) when weights are given (0.5 when |w₀ + w₁| &lt; 1e-6), else the
/// parameter t. The norms are clamped below at 1e-7, Ω = acos(clamp(cos, −1, 1)), and where |sin Ω| &lt; 1e-8 the result
/// is the linear interpolation. The whole tensor is one vector (mergekit's default <c>nuslerp_flatten</c>).</item>
/// </list>
/// The angle needs the whole tensor, so neither is elementwise. F64 tensors are merged in double, the others in float
/// (their angle computed in double).
/// </summary>
public sealed class SlerpMethod : Engine.IMergeMethodF64
{
    private const double ColinearThreshold = 0.9995;
    private const double SlerpZeroNorm = 1e-8;
    private const double NuslerpNormFloor = 1e-7;
    private const double NuslerpSinFloor = 1e-8;

    private readonly double _t;
    private readonly bool _taskVectors;
    private readonly IReadOnlyList<double>? _weights;

    private SlerpMethod(double t, bool taskVectors, IReadOnlyList<double>? weights)
    {
        _taskVectors = taskVectors;
        _weights = MethodGuards.Weights(weights);
        _t = _weights is { Count: 2 } w ? (Math.Abs(w[0] + w[1]) < 1e-6 ? 0.5 : w[1] / (w[0] + w[1])) : MethodGuards.Unit("t", t);
    }

    /// <summary>mergekit's <c>slerp</c> at <paramref name="t"/> in [0, 1].</summary>
    public static SlerpMethod Slerp(double t) => new(t, taskVectors: false, weights: null);

    /// <summary>mergekit's <c>nuslerp</c>: t from the two <paramref name="weights"/> when given, else <paramref name="t"/>.</summary>
    public static SlerpMethod Nuslerp(double t, IReadOnlyList<double>? weights) => new(t, taskVectors: true, weights);

    /// <summary>The interpolation position used.</summary>
    public double T => _t;

    /// <inheritdoc />
    public string Name => _taskVectors ? MergeMethods.Nuslerp : MergeMethods.Slerp;

    /// <inheritdoc />
    public bool IsElementwise => false;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        if (!_taskVectors && hasBase)
        {
            if (memberCount != 1)
                throw new ArgumentException($"slerp with a base interpolates from the base to exactly one member (mergekit's convention), got {memberCount}; for the SLERP of two members' task vectors around a base use nuslerp");
            return;
        }

        MethodGuards.Exactly(Name, memberCount, 2);
        MethodGuards.WeightCount(Name, _weights, memberCount);
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
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
        Validate(members.Length, baseValues is not null);
        var output = outputValues.AsSpan(0, length);
        if (!_taskVectors || baseValues is null)
        {
            var fromBase = baseValues is not null && !_taskVectors;
            var v0 = (fromBase ? baseValues! : members[0]).AsSpan(0, length);
            var v1 = (fromBase ? members[0] : members[1]).AsSpan(0, length);
            var (s0, s1) = _taskVectors ? NuslerpCoefficients<T>(v0, v1) : SlerpCoefficients<T>(v0, v1);
            TensorPrimitives.Multiply<T>(v0, s0, output);
            TensorPrimitives.MultiplyAdd<T>(v1, s1, output, output);
            return;
        }

        var scratch0 = ArrayPool<T>.Shared.Rent(length);
        var scratch1 = ArrayPool<T>.Shared.Rent(length);
        try
        {
            var baseSpan = baseValues.AsSpan(0, length);
            var tau0 = scratch0.AsSpan(0, length);
            var tau1 = scratch1.AsSpan(0, length);
            TensorPrimitives.Subtract<T>(members[0].AsSpan(0, length), baseSpan, tau0);
            TensorPrimitives.Subtract<T>(members[1].AsSpan(0, length), baseSpan, tau1);
            var (s0, s1) = NuslerpCoefficients<T>(tau0, tau1);
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

    private (T S0, T S1) Lerp<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => (T.CreateTruncating(1 - _t), T.CreateTruncating(_t));

    /// <summary>mergekit's slerp: norms over 1e-8 divided out, lerp past |cos| 0.9995.</summary>
    private (T S0, T S1) SlerpCoefficients<T>(ReadOnlySpan<T> v0, ReadOnlySpan<T> v1)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var norm0 = Math.Sqrt(TaskVectors.Dot(v0, v0));
        var norm1 = Math.Sqrt(TaskVectors.Dot(v1, v1));
        var cos = TaskVectors.Dot(v0, v1) / (norm0 > SlerpZeroNorm ? norm0 : 1) / (norm1 > SlerpZeroNorm ? norm1 : 1);
        if (Math.Abs(cos) > ColinearThreshold)
            return Lerp<T>();
        var omega = Math.Acos(cos);
        var sin = Math.Sin(omega);
        return (T.CreateTruncating(Math.Sin(omega - (omega * _t)) / sin), T.CreateTruncating(Math.Sin(omega * _t) / sin));
    }

    /// <summary>mergekit's nuslerp: norms clamped at 1e-7, lerp where |sin Ω| &lt; 1e-8.</summary>
    private (T S0, T S1) NuslerpCoefficients<T>(ReadOnlySpan<T> v0, ReadOnlySpan<T> v1)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var norm0 = Math.Max(Math.Sqrt(TaskVectors.Dot(v0, v0)), NuslerpNormFloor);
        var norm1 = Math.Max(Math.Sqrt(TaskVectors.Dot(v1, v1)), NuslerpNormFloor);
        var omega = Math.Acos(Math.Clamp(TaskVectors.Dot(v0, v1) / (norm0 * norm1), -1, 1));
        var sin = Math.Sin(omega);
        if (Math.Abs(sin) < NuslerpSinFloor)
            return Lerp<T>();
        return (T.CreateTruncating(Math.Sin((1 - _t) * omega) / sin), T.CreateTruncating(Math.Sin(_t * omega) / sin));
    }
}
