namespace Soup.Training.Evaluation;

/// <summary>
/// Collects the members' outputs on one split while each member is evaluated, so that the prediction ensemble and the
/// pairwise diversity need no second forward pass: the sum of the members' softmax outputs, the running log-sum-exp of
/// each example's true-class log-probability, and every member's predicted classes.
/// </summary>
internal sealed class EnsembleAccumulator
{
    /// <summary>The floor of an example's ensemble log-probability of its label (as PyTorch's BCELoss clamps its logs).</summary>
    public const double MinLogProbability = -100;

    private readonly int _classes;
    private readonly float[] _probabilitySums;
    private readonly double[] _labelLogSums;
    private readonly int[][] _predictions;
    private readonly int[] _labels;

    /// <summary>Prepares for <paramref name="members"/> members on <paramref name="count"/> examples of <paramref name="classes"/> classes.</summary>
    public EnsembleAccumulator(int members, int count, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        this._classes = classes;
        _probabilitySums = new float[(long)count * classes];
        _labelLogSums = new double[count];
        Array.Fill(_labelLogSums, double.NegativeInfinity);
        _predictions = Enumerable.Range(0, members).Select(_ => new int[count]).ToArray();
        _labels = new int[count];
    }

    /// <summary>The number of members.</summary>
    public int Members => _predictions.Length;

    /// <summary>The labels, as seen in the batches added.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Member <paramref name="member"/>'s predicted class for each example.</summary>
    public ReadOnlySpan<int> Predictions(int member) => _predictions[member];

    /// <summary>
    /// Adds one member's outputs for the examples from <paramref name="start"/> on: their labels, the member's predicted
    /// classes and its log-softmax outputs, row-major [n, classes].
    /// </summary>
    public void Add(int member, int start, ReadOnlySpan<long> batchLabels, ReadOnlySpan<long> batchPredictions, ReadOnlySpan<float> logProbabilities)
    {
        if (batchPredictions.Length != batchLabels.Length || logProbabilities.Length != batchLabels.Length * _classes)
            throw new ArgumentException($"{batchLabels.Length} labels, {batchPredictions.Length} predictions and {logProbabilities.Length} log-probabilities for {_classes} classes.");
        for (var i = 0; i < batchLabels.Length; i++)
        {
            var example = start + i;
            var label = (int)batchLabels[i];
            _labels[example] = label;
            _predictions[member][example] = (int)batchPredictions[i];
            var row = logProbabilities.Slice(i * _classes, _classes);
            var sums = _probabilitySums.AsSpan(example * _classes, _classes);
            for (var c = 0; c < _classes; c++)
                sums[c] += MathF.Exp(row[c]);
            _labelLogSums[example] = LogAddExp(_labelLogSums[example], row[label]);
        }
    }

    /// <summary>
    /// The ensemble's accuracy (the argmax of the summed probabilities, the first on ties) and mean loss
    /// −log(mean probability of the label), the log computed as log-sum-exp of the members' log-probabilities − log M and
    /// floored at <see cref="MinLogProbability"/>.
    /// </summary>
    public (double Accuracy, double Loss) Score()
    {
        long correct = 0;
        double loss = 0;
        var logMembers = Math.Log(Members);
        for (var example = 0; example < _labels.Length; example++)
        {
            var sums = _probabilitySums.AsSpan(example * _classes, _classes);
            var best = 0;
            for (var c = 1; c < _classes; c++)
                best = sums[c] > sums[best] ? c : best;
            correct += best == _labels[example] ? 1 : 0;
            loss -= Math.Max(_labelLogSums[example] - logMembers, MinLogProbability);
        }
        return ((double)correct / _labels.Length, loss / _labels.Length);
    }

    /// <summary>The counts of every member pair (i &lt; j), in order (0,1), (0,2), …, (1,2), ….</summary>
    public IReadOnlyList<PairCounts> PairCounts()
    {
        var result = new List<PairCounts>();
        for (var i = 0; i < Members; i++)
        {
            for (var j = i + 1; j < Members; j++)
                result.Add(DiversityMetrics.Count(_labels, _predictions[i], _predictions[j]));
        }
        return result;
    }

    private static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a))
            return b;
        if (double.IsNegativeInfinity(b))
            return a;
        var max = Math.Max(a, b);
        return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }
}
