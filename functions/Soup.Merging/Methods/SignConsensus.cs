using System.Buffers;
using System.Numerics;

namespace Soup.Merging.Methods;

/// <summary>
/// TIES's sign election and disjoint merge, accumulated one member at a time so no member's task vector is kept:
/// per element, the weighted entries wᵢτᵢ are summed by sign (with the weights of each side); the elected sign is that
/// of Σ wᵢτᵢ (positive when the sum is 0, as in mergekit); the result is the elected side's sum, divided by the sum of
/// its weights when normalizing (a divisor of 0 counts as 1, as in mergekit). Zero entries join neither side.
/// In the tensor's precision: float for F16/BF16/F32, double for F64.
/// </summary>
internal sealed class SignConsensus<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _length;
    private readonly T[] _positiveSum;
    private readonly T[] _positiveWeight;
    private readonly T[] _negativeSum;
    private readonly T[] _negativeWeight;

    public SignConsensus(int length)
    {
        _length = length;
        _positiveSum = Rent(length);
        _positiveWeight = Rent(length);
        _negativeSum = Rent(length);
        _negativeWeight = Rent(length);
    }

    /// <summary>Adds one member's (trimmed or dropped) task vector with its weight.</summary>
    public void Add(ReadOnlySpan<T> taskVector, T weight)
    {
        var positiveSum = _positiveSum.AsSpan(0, _length);
        var positiveWeight = _positiveWeight.AsSpan(0, _length);
        var negativeSum = _negativeSum.AsSpan(0, _length);
        var negativeWeight = _negativeWeight.AsSpan(0, _length);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var weights = new Vector<T>(weight);
            for (; i <= _length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = weights * new Vector<T>(taskVector[i..]);
                var positive = Vector.GreaterThan(v, Vector<T>.Zero);
                var negative = Vector.LessThan(v, Vector<T>.Zero);
                (new Vector<T>(positiveSum[i..]) + Vector.ConditionalSelect(positive, v, Vector<T>.Zero)).CopyTo(positiveSum[i..]);
                (new Vector<T>(positiveWeight[i..]) + Vector.ConditionalSelect(positive, weights, Vector<T>.Zero)).CopyTo(positiveWeight[i..]);
                (new Vector<T>(negativeSum[i..]) + Vector.ConditionalSelect(negative, v, Vector<T>.Zero)).CopyTo(negativeSum[i..]);
                (new Vector<T>(negativeWeight[i..]) + Vector.ConditionalSelect(negative, weights, Vector<T>.Zero)).CopyTo(negativeWeight[i..]);
            }
        }

        for (; i < _length; i++)
        {
            var v = weight * taskVector[i];
            if (v > T.Zero)
            {
                positiveSum[i] += v;
                positiveWeight[i] += weight;
            }
            else if (v < T.Zero)
            {
                negativeSum[i] += v;
                negativeWeight[i] += weight;
            }
        }
    }

    /// <summary>Output = base + λ·(elected side's sum, divided by its weight when normalizing).</summary>
    public void Finish(ReadOnlySpan<T> baseValues, T lambda, bool normalize, Span<T> output)
    {
        var positiveSum = _positiveSum.AsSpan(0, _length);
        var positiveWeight = _positiveWeight.AsSpan(0, _length);
        var negativeSum = _negativeSum.AsSpan(0, _length);
        var negativeWeight = _negativeWeight.AsSpan(0, _length);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lambdas = new Vector<T>(lambda);
            for (; i <= _length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var positiveSums = new Vector<T>(positiveSum[i..]);
                var negativeSums = new Vector<T>(negativeSum[i..]);
                var positive = Vector.GreaterThanOrEqual(positiveSums + negativeSums, Vector<T>.Zero);
                var sum = Vector.ConditionalSelect(positive, positiveSums, negativeSums);
                if (normalize)
                {
                    var weight = Vector.ConditionalSelect(positive, new Vector<T>(positiveWeight[i..]), new Vector<T>(negativeWeight[i..]));
                    sum /= Vector.ConditionalSelect(Vector.Equals(weight, Vector<T>.Zero), Vector<T>.One, weight);
                }

                (new Vector<T>(baseValues[i..]) + (lambdas * sum)).CopyTo(output[i..]);
            }
        }

        for (; i < _length; i++)
        {
            var positive = positiveSum[i] + negativeSum[i] >= T.Zero;
            var sum = positive ? positiveSum[i] : negativeSum[i];
            var weight = positive ? positiveWeight[i] : negativeWeight[i];
            var merged = normalize && weight != T.Zero ? sum / weight : sum;
            output[i] = baseValues[i] + (lambda * merged);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ArrayPool<T>.Shared.Return(_negativeWeight);
        ArrayPool<T>.Shared.Return(_negativeSum);
        ArrayPool<T>.Shared.Return(_positiveWeight);
        ArrayPool<T>.Shared.Return(_positiveSum);
    }

    private static T[] Rent(int length)
    {
        var array = ArrayPool<T>.Shared.Rent(length);
        array.AsSpan(0, length).Clear();
        return array;
    }
}
