using System.Buffers;
using System.Numerics;

namespace Soup.Core.Merging;

/// <summary>
/// TIES's sign election and disjoint merge, accumulated one member at a time so no member's task vector is kept:
/// per element, the weighted entries wᵢτᵢ are summed by sign (with the weights of each side); the elected sign is that
/// of Σ wᵢτᵢ (positive when the sum is 0, as in mergekit); the result is the elected side's sum, divided by the sum of
/// its weights when normalizing (a divisor of 0 counts as 1, as in mergekit). Zero entries join neither side.
/// </summary>
internal sealed class SignConsensus : IDisposable
{
    private readonly int _length;
    private readonly float[] _positiveSum;
    private readonly float[] _positiveWeight;
    private readonly float[] _negativeSum;
    private readonly float[] _negativeWeight;

    public SignConsensus(int length)
    {
        _length = length;
        _positiveSum = Rent(length);
        _positiveWeight = Rent(length);
        _negativeSum = Rent(length);
        _negativeWeight = Rent(length);
    }

    /// <summary>Adds one member's (trimmed or dropped) task vector with its weight.</summary>
    public void Add(ReadOnlySpan<float> taskVector, float weight)
    {
        var positiveSum = _positiveSum.AsSpan(0, _length);
        var positiveWeight = _positiveWeight.AsSpan(0, _length);
        var negativeSum = _negativeSum.AsSpan(0, _length);
        var negativeWeight = _negativeWeight.AsSpan(0, _length);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var weights = new Vector<float>(weight);
            for (; i <= _length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = weights * new Vector<float>(taskVector[i..]);
                var positive = Vector.GreaterThan(v, Vector<float>.Zero);
                var negative = Vector.LessThan(v, Vector<float>.Zero);
                (new Vector<float>(positiveSum[i..]) + Vector.ConditionalSelect(positive, v, Vector<float>.Zero)).CopyTo(positiveSum[i..]);
                (new Vector<float>(positiveWeight[i..]) + Vector.ConditionalSelect(positive, weights, Vector<float>.Zero)).CopyTo(positiveWeight[i..]);
                (new Vector<float>(negativeSum[i..]) + Vector.ConditionalSelect(negative, v, Vector<float>.Zero)).CopyTo(negativeSum[i..]);
                (new Vector<float>(negativeWeight[i..]) + Vector.ConditionalSelect(negative, weights, Vector<float>.Zero)).CopyTo(negativeWeight[i..]);
            }
        }

        for (; i < _length; i++)
        {
            var v = weight * taskVector[i];
            if (v > 0)
            {
                positiveSum[i] += v;
                positiveWeight[i] += weight;
            }
            else if (v < 0)
            {
                negativeSum[i] += v;
                negativeWeight[i] += weight;
            }
        }
    }

    /// <summary>Output = base + λ·(elected side's sum, divided by its weight when normalizing).</summary>
    public void Finish(ReadOnlySpan<float> baseValues, float lambda, bool normalize, Span<float> output)
    {
        var positiveSum = _positiveSum.AsSpan(0, _length);
        var positiveWeight = _positiveWeight.AsSpan(0, _length);
        var negativeSum = _negativeSum.AsSpan(0, _length);
        var negativeWeight = _negativeWeight.AsSpan(0, _length);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lambdas = new Vector<float>(lambda);
            for (; i <= _length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var positiveSums = new Vector<float>(positiveSum[i..]);
                var negativeSums = new Vector<float>(negativeSum[i..]);
                var positive = Vector.GreaterThanOrEqual(positiveSums + negativeSums, Vector<float>.Zero);
                var sum = Vector.ConditionalSelect(positive, positiveSums, negativeSums);
                if (normalize)
                {
                    var weight = Vector.ConditionalSelect(positive, new Vector<float>(positiveWeight[i..]), new Vector<float>(negativeWeight[i..]));
                    sum /= Vector.ConditionalSelect(Vector.Equals(weight, Vector<float>.Zero), Vector<float>.One, weight);
                }

                (new Vector<float>(baseValues[i..]) + (lambdas * sum)).CopyTo(output[i..]);
            }
        }

        for (; i < _length; i++)
        {
            var positive = positiveSum[i] + negativeSum[i] >= 0;
            var sum = positive ? positiveSum[i] : negativeSum[i];
            var weight = positive ? positiveWeight[i] : negativeWeight[i];
            var merged = normalize && weight != 0 ? sum / weight : sum;
            output[i] = baseValues[i] + (lambda * merged);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ArrayPool<float>.Shared.Return(_negativeWeight);
        ArrayPool<float>.Shared.Return(_negativeSum);
        ArrayPool<float>.Shared.Return(_positiveWeight);
        ArrayPool<float>.Shared.Return(_positiveSum);
    }

    private static float[] Rent(int length)
    {
        var array = ArrayPool<float>.Shared.Rent(length);
        array.AsSpan(0, length).Clear();
        return array;
    }
}
