using Soup.Core.Checkpoints;
using Soup.Core.Jobs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Soup.Training.Models;
using Soup.Training.Checkpoints;

namespace Soup.Training.FineTuning;

/// <summary>
/// The live objects of one fine-tuning run: the model, its dropout generator, the optimizer over the trained
/// parameters, the weight average and WARP's EMA anchor. Takes steps and captures or restores a <see cref="TrainingState"/>.
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const string AveragePrefix = "average.";
    private const string AnchorPrefix = "ema.";
    private const string GeneratorName = "rng.dropout";

    private readonly TrainSettings settings;
    private readonly Device device;
    private readonly Generator dropoutGenerator;
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly List<(string Name, Tensor Live)> entries;
    private readonly List<(string Name, Parameter Parameter)> trained;
    private readonly OptimizerHelper optimizer;
    private readonly WeightAverage? average;
    private readonly nn.Module<Tensor, Tensor>? anchorModel;
    private readonly WeightAverage? anchor;
    private readonly Tensor? classWeights;

    /// <summary>Creates the model (seeded, or from <paramref name="init"/>) on <paramref name="device"/> and everything around it.</summary>
    public TrainingRun(FineTuneOptions options, ModelShape shape, IReadOnlyList<TensorData>? init, Device device)
    {
        settings = options.Settings;
        this.device = device;
        dropoutGenerator = new Generator(unchecked((ulong)settings.Seed));
        model = ModelFactory.CreateSeeded(options.Model, shape, settings.Seed, settings.Dropout, dropoutGenerator);
        if (init is not null)
        {
            try
            {
                TorchCheckpoint.Load(model, init, "initial weights");
            }
            catch
            {
                model.Dispose();
                dropoutGenerator.Dispose();
                throw;
            }
        }
        model.to(device);

        var headPrefix = settings.LinearProbe ? ModelFactory.HeadPrefix(model) : "";
        trained = [];
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.StartsWith(headPrefix, StringComparison.Ordinal))
                trained.Add((name, parameter));
            else
                parameter.requires_grad = false;
        }
        optimizer = OptimizerFactory.Create(settings, trained.Select(p => p.Parameter));
        SetTrainingMode(headPrefix);

        entries = model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        if (settings.Average != WeightAverages.None)
            average = new WeightAverage(settings.Average, entries, settings.AverageStart, settings.EmaDecay);
        if (settings.AnchorWeight > 0)
        {
            anchorModel = ModelFactory.CreateSeeded(options.Model, shape, settings.Seed);
            anchorModel.to(device);
            anchorModel.eval();
            foreach (var parameter in anchorModel.parameters())
                parameter.requires_grad = false;
            var anchorState = anchorModel.state_dict();
            anchor = new WeightAverage(WeightAverages.Ema, entries, 1, settings.EmaDecay, entries.Select(e => anchorState[e.Name]).ToList());
        }
        if (settings.ClassWeights is { } weights)
            classWeights = tensor(weights.Select(w => (float)w).ToArray()).to(device).DetachFromDisposeScope();
    }

    /// <summary>
    /// One optimizer step on a batch: cross-entropy (class-weighted when asked) plus, with an anchor, AnchorWeight ·
    /// KL(p_model ‖ p_ema); then the averages take the new weights.
    /// </summary>
    /// <returns>The loss before the step, and how many examples the model got right (when <paramref name="countCorrect"/>).</returns>
    /// <exception cref="TrainingDivergedException">The loss is NaN or infinite.</exception>
    public (double Loss, long Correct) Step(Tensor images, Tensor labels, int step, bool countCorrect)
    {
        using var scope = NewDisposeScope();
        var x = images.to(device);
        var y = labels.to(device);
        var logits = model.forward(x);
        var loss = nn.functional.cross_entropy(logits, y, weight: classWeights);
        if (anchorModel is not null)
        {
            Tensor anchorLogits;
            using (no_grad())
                anchorLogits = anchorModel.forward(x);
            var logP = nn.functional.log_softmax(logits, 1);
            var logQ = nn.functional.log_softmax(anchorLogits, 1);
            var kl = logP.exp().mul(logP.sub(logQ)).sum(1).mean();
            loss = loss.add(kl.mul(settings.AnchorWeight));
        }
        var value = loss.item<float>();
        if (!float.IsFinite(value))
            throw new TrainingDivergedException(step, value);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        average?.Update(step);
        anchor?.Update(step);
        var correct = countCorrect ? logits.argmax(1).eq(y).sum().item<long>() : 0;
        return (value, correct);
    }

    /// <summary>The weights the job outputs after <paramref name="step"/> steps: the average when one is asked for, else the model's.</summary>
    public IReadOnlyList<TensorData> Output(int step) => average?.Result(step) ?? TorchCheckpoint.ToTensorData(model);

    /// <summary>Everything needed to resume after <paramref name="step"/> steps.</summary>
    public TrainingState Capture(int step, RunTotals totals)
    {
        var tensors = entries.Select(e => StateTensors.ToData(ModelPrefix + e.Name, e.Live)).ToList();
        tensors.AddRange(OptimizerFactory.Save(optimizer, trained, OptimizerPrefix));
        if (average is not null)
            tensors.AddRange(average.Save(AveragePrefix));
        if (anchor is not null)
            tensors.AddRange(anchor.Save(AnchorPrefix));
        using (var generatorState = dropoutGenerator.get_state())
            tensors.Add(StateTensors.ToData(GeneratorName, generatorState));
        tensors.Add(totals.Save());
        return new TrainingState(step, tensors);
    }

    /// <summary>Restores a state <see cref="Capture"/> took in a run of the same settings; returns its running totals.</summary>
    /// <exception cref="InvalidDataException">A tensor is missing, unexpected or of the wrong shape or dtype.</exception>
    public RunTotals Restore(TrainingState state, string source)
    {
        var reader = new StateReader(state, source);
        foreach (var (name, live) in entries)
            reader.CopyInto(ModelPrefix + name, live);
        OptimizerFactory.Load(optimizer, trained, reader, OptimizerPrefix);
        average?.Load(reader, AveragePrefix);
        anchor?.Load(reader, AnchorPrefix);
        using (var generatorState = reader.Read(GeneratorName))
            dropoutGenerator.set_state(generatorState);
        var totals = RunTotals.Load(reader);
        reader.ThrowIfUnread();
        return totals;
    }

    /// <summary>Training mode, except that under a linear probe every module outside the head (and not above it) is in eval mode.</summary>
    private void SetTrainingMode(string headPrefix)
    {
        model.train();
        if (headPrefix.Length == 0)
            return;
        foreach (var (name, module) in model.named_modules())
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
        average?.Dispose();
        anchor?.Dispose();
        anchorModel?.Dispose();
        classWeights?.Dispose();
        optimizer.Dispose();
        model.Dispose();
        dropoutGenerator.Dispose();
    }
}
