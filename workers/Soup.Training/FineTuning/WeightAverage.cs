using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>
/// A running average of a model's state dict, updated after each step: DiWA's uniform moving average from a start step
/// (sums kept in float64), or an exponential moving average starting from the weights it is created with. Integer
/// entries (e.g. BatchNorm's batch counter) take the latest value.
/// </summary>
internal sealed class WeightAverage : IDisposable
{
    private readonly string _kind;
    private readonly int _start;
    private readonly double _decay;
    private readonly IReadOnlyList<(string Name, Tensor Live)> _source;
    private readonly Tensor[] _accumulators;

    /// <summary>Creates the average of <paramref name="source"/>'s live tensors.</summary>
    /// <param name="kind"><see cref="WeightAverages.MovingAverage"/> or <see cref="WeightAverages.Ema"/>.</param>
    /// <param name="source">The state-dict entries averaged, read at each update.</param>
    /// <param name="start">The first step the moving average includes.</param>
    /// <param name="decay">The EMA's decay.</param>
    /// <param name="targets">For an EMA: tensors to keep the average in (e.g. another model's state dict); null: new ones.</param>
    public WeightAverage(string kind, IReadOnlyList<(string Name, Tensor Live)> source, int start, double decay, IReadOnlyList<Tensor>? targets = null)
    {
        this._kind = kind;
        this._start = start;
        this._decay = decay;
        this._source = source;
        using var noGrad = no_grad();
        _accumulators = source.Select((entry, i) =>
        {
            if (kind == WeightAverages.MovingAverage && entry.Live.is_floating_point())
                return zeros_like(entry.Live, ScalarType.Float64).DetachFromDisposeScope();
            if (targets is null)
                return entry.Live.detach().clone().DetachFromDisposeScope();
            targets[i].copy_(entry.Live);
            return targets[i];
        }).ToArray();
        OwnsAccumulators = targets is null || kind == WeightAverages.MovingAverage;
    }

    private bool OwnsAccumulators { get; }

    /// <summary>Folds in the live weights after <paramref name="step"/> (1-based).</summary>
    public void Update(int step)
    {
        if (_kind == WeightAverages.MovingAverage && step < _start)
            return;
        using var noGrad = no_grad();
        for (var i = 0; i < _accumulators.Length; i++)
        {
            var live = _source[i].Live;
            var accumulator = _accumulators[i];
            if (!live.is_floating_point())
                accumulator.copy_(live);
            else if (_kind == WeightAverages.MovingAverage)
                accumulator.add_(live);
            else
                accumulator.mul_(_decay).add_(live, alpha: 1 - _decay);
        }
    }

    /// <summary>The averaged state dict after <paramref name="step"/> steps, on the CPU, in the live tensors' dtypes.</summary>
    public IReadOnlyList<TensorData> Result(int step)
    {
        var count = Math.Max(1, step - _start + 1);
        using var scope = NewDisposeScope();
        return _accumulators.Select((accumulator, i) =>
        {
            var (name, live) = _source[i];
            var value = _kind == WeightAverages.MovingAverage && live.is_floating_point()
                ? accumulator.div(count).to(live.dtype)
                : accumulator;
            return StateTensors.ToData(name, value);
        }).ToList();
    }

    /// <summary>The accumulators as state tensors named <paramref name="prefix"/> + entry name.</summary>
    public IEnumerable<TensorData> Save(string prefix) =>
        _accumulators.Select((accumulator, i) => StateTensors.ToData(prefix + _source[i].Name, accumulator));

    /// <summary>Restores the accumulators saved by <see cref="Save"/>.</summary>
    public void Load(StateReader reader, string prefix)
    {
        for (var i = 0; i < _accumulators.Length; i++)
            reader.CopyInto(prefix + _source[i].Name, _accumulators[i]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!OwnsAccumulators)
            return;
        foreach (var accumulator in _accumulators)
            accumulator.Dispose();
    }
}
