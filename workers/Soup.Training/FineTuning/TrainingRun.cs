using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Soup.Training.Models;
using Soup.Training.Checkpoints;

namespace Soup.Training.FineTuning;

/// <summary>
/// The live objects of one fine-tuning run: the model its objective creates, its dropout generator, the optimizer over
/// the trained parameters, the weight average and WARP's EMA anchor. Takes steps and captures or restores a
/// <see cref="TrainingState"/>.
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const string AveragePrefix = "average.";
    private const string AnchorPrefix = "ema.";
    private const string GeneratorName = "rng.dropout";

    private readonly TrainSettings _settings;
    private readonly Device _device;
    private readonly Generator _dropoutGenerator;
    private readonly TrainingObjective _objective;
    private readonly nn.Module _model;
    private readonly List<(string Name, Tensor Live)> _entries;
    private readonly List<(string Name, Parameter Parameter)> _trained;
    private readonly OptimizerHelper _optimizer;
    private readonly WeightAverage? _average;
    private readonly nn.Module? _anchorModel;
    private readonly WeightAverage? _anchor;

    /// <summary>Creates the model (seeded, or from <paramref name="init"/>) on <paramref name="device"/> and everything around it.</summary>
    public TrainingRun(FineTuneOptions options, TrainingObjective objective, IReadOnlyList<TensorData>? init, Device device)
    {
        _settings = options.Settings;
        _objective = objective;
        _device = device;
        _dropoutGenerator = new Generator(unchecked((ulong)_settings.Seed));
        _model = objective.CreateModel(options.Model, _settings.Seed, _settings.Dropout, _dropoutGenerator);
        if (init is not null)
        {
            try
            {
                objective.Load(_model, init, "initial weights");
            }
            catch
            {
                _model.Dispose();
                _dropoutGenerator.Dispose();
                throw;
            }
        }
        _model.to(device);

        var headPrefix = _settings.LinearProbe ? objective.HeadPrefix(_model) : "";
        _trained = [];
        foreach (var (name, parameter) in _model.named_parameters())
        {
            if (name.StartsWith(headPrefix, StringComparison.Ordinal))
                _trained.Add((name, parameter));
            else
                parameter.requires_grad = false;
        }
        _optimizer = OptimizerFactory.Create(_settings, _trained.Select(p => p.Parameter));
        SetTrainingMode(headPrefix);

        _entries = _model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        if (_settings.Average != WeightAverages.None)
            _average = new WeightAverage(_settings.Average, _entries, _settings.AverageStart, _settings.EmaDecay);
        if (_settings.AnchorWeight > 0)
        {
            _anchorModel = objective.CreateModel(options.Model, _settings.Seed, 0, null);
            _anchorModel.to(device);
            _anchorModel.eval();
            foreach (var parameter in _anchorModel.parameters())
                parameter.requires_grad = false;
            var anchorState = _anchorModel.state_dict();
            _anchor = new WeightAverage(WeightAverages.Ema, _entries, 1, _settings.EmaDecay, _entries.Select(e => anchorState[e.Name]).ToList());
        }
    }

    /// <summary>
    /// One optimizer step on a batch: the objective's loss plus, with an anchor, AnchorWeight · KL(p_model ‖ p_ema) over
    /// the objective's distributions; then the averages take the new weights.
    /// </summary>
    /// <returns>The loss before the step, and how many predictions the model got right (when <paramref name="countCorrect"/>).</returns>
    /// <exception cref="TrainingDivergedException">The loss is NaN or infinite.</exception>
    public (double Loss, long Correct) Step(TrainingBatch batch, int step, bool countCorrect)
    {
        using var scope = NewDisposeScope();
        var tensors = batch.Tensors.Select(t => t.to(_device)).ToList();
        var outputs = _objective.Forward(_model, tensors);
        var (loss, correct) = _objective.Loss(outputs, tensors, countCorrect);
        if (_anchorModel is not null)
        {
            Tensor anchorOutputs;
            using (no_grad())
                anchorOutputs = _objective.Forward(_anchorModel, tensors);
            var logP = nn.functional.log_softmax(_objective.Distributions(outputs, tensors)!, 1);
            var logQ = nn.functional.log_softmax(_objective.Distributions(anchorOutputs, tensors)!, 1);
            var kl = logP.exp().mul(logP.sub(logQ)).sum(1).mean();
            loss = loss.add(kl.mul(_settings.AnchorWeight));
        }
        var value = loss.item<float>();
        if (!float.IsFinite(value))
            throw new TrainingDivergedException(step, value);
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
        _average?.Update(step);
        _anchor?.Update(step);
        return (value, correct);
    }

    /// <summary>The weights the job outputs after <paramref name="step"/> steps: the average when one is asked for, else the model's.</summary>
    public IReadOnlyList<TensorData> Output(int step) => _average?.Result(step) ?? TorchCheckpoint.ToTensorData(_model);

    /// <summary>Everything needed to resume after <paramref name="step"/> steps.</summary>
    public TrainingState Capture(int step, RunTotals totals)
    {
        var tensors = _entries.Select(e => StateTensors.ToData(ModelPrefix + e.Name, e.Live)).ToList();
        tensors.AddRange(OptimizerFactory.Save(_optimizer, _trained, OptimizerPrefix));
        if (_average is not null)
            tensors.AddRange(_average.Save(AveragePrefix));
        if (_anchor is not null)
            tensors.AddRange(_anchor.Save(AnchorPrefix));
        using (var generatorState = _dropoutGenerator.get_state())
            tensors.Add(StateTensors.ToData(GeneratorName, generatorState));
        tensors.Add(totals.Save());
        return new TrainingState(step, tensors);
    }

    /// <summary>Restores a state <see cref="Capture"/> took in a run of the same settings; returns its running totals.</summary>
    /// <exception cref="InvalidDataException">A tensor is missing, unexpected or of the wrong shape or dtype.</exception>
    public RunTotals Restore(TrainingState state, string source)
    {
        var reader = new StateReader(state, source);
        foreach (var (name, live) in _entries)
            reader.CopyInto(ModelPrefix + name, live);
        OptimizerFactory.Load(_optimizer, _trained, reader, OptimizerPrefix);
        _average?.Load(reader, AveragePrefix);
        _anchor?.Load(reader, AnchorPrefix);
        using (var generatorState = reader.Read(GeneratorName))
            _dropoutGenerator.set_state(generatorState);
        var totals = RunTotals.Load(reader);
        reader.ThrowIfUnread();
        return totals;
    }

    /// <summary>Training mode, except that under a linear probe every module outside the head (and not above it) is in eval mode.</summary>
    private void SetTrainingMode(string headPrefix)
    {
        _model.train();
        if (headPrefix.Length == 0)
            return;
        foreach (var (name, module) in _model.named_modules())
        {
            var prefix = name + ".";
            var inHead = prefix.StartsWith(headPrefix, StringComparison.Ordinal);
            var aboveHead = headPrefix.StartsWith(prefix, StringComparison.Ordinal);
            if (name.Length > 0 && !inHead && !aboveHead)
                module.eval();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _average?.Dispose();
        _anchor?.Dispose();
        _anchorModel?.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
        _dropoutGenerator.Dispose();
    }
}
