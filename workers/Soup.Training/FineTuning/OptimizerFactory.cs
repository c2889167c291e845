using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>Creates the optimizers of <see cref="Optimizers"/> and saves and restores their per-parameter state.</summary>
internal static class OptimizerFactory
{
    /// <summary>SGD (momentum, L2 weight decay), Adam (L2) or AdamW (decoupled decay) with a constant learning rate.</summary>
    public static OptimizerHelper Create(TrainSettings settings, IEnumerable<Parameter> parameters) => settings.Optimizer switch
    {
        Optimizers.Sgd => optim.SGD(parameters, settings.LearningRate, settings.Momentum, weight_decay: settings.WeightDecay),
        Optimizers.Adam => optim.Adam(parameters, settings.LearningRate, weight_decay: settings.WeightDecay),
        Optimizers.AdamW => optim.AdamW(parameters, settings.LearningRate, weight_decay: settings.WeightDecay),
        _ => throw new ArgumentException($"Unknown optimizer '{settings.Optimizer}'.", nameof(settings)),
    };

    /// <summary>
    /// The state of each parameter, named <paramref name="prefix"/> + parameter name + <c>.momentum_buffer</c> (SGD, once
    /// it exists) or <c>.step</c>, <c>.exp_avg</c>, <c>.exp_avg_sq</c> (Adam, AdamW).
    /// </summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="parameters">Its parameters with their names, in the order it was given them.</param>
    /// <param name="prefix">Prefixes every name.</param>
    public static IEnumerable<TensorData> Save(OptimizerHelper optimizer, IReadOnlyList<(string Name, Parameter Parameter)> parameters, string prefix)
    {
        var states = optimizer.state_dict().State;
        var result = new List<TensorData>();
        for (var i = 0; i < states.Count; i++)
        {
            var name = prefix + parameters[i].Name;
            switch (states[i])
            {
                case SGD.State sgd when sgd.momentum_buffer is not null:
                    result.Add(StateTensors.ToData(name + ".momentum_buffer", sgd.momentum_buffer));
                    break;
                case Adam.State adam:
                    AddAdam(result, name, adam.step, adam.exp_avg, adam.exp_avg_sq);
                    break;
                case AdamW.State adamW:
                    AddAdam(result, name, adamW.step, adamW.exp_avg, adamW.exp_avg_sq);
                    break;
            }
        }
        return result;
    }

    /// <summary>Restores what <see cref="Save"/> wrote into an optimizer over the same parameters.</summary>
    public static void Load(OptimizerHelper optimizer, IReadOnlyList<(string Name, Parameter Parameter)> parameters, StateReader reader, string prefix)
    {
        var states = optimizer.state_dict().State;
        for (var i = 0; i < states.Count; i++)
        {
            var name = prefix + parameters[i].Name;
            switch (states[i])
            {
                case SGD.State sgd when reader.Has(name + ".momentum_buffer"):
                    var buffer = zeros_like(parameters[i].Parameter).DetachFromDisposeScope();
                    reader.CopyInto(name + ".momentum_buffer", buffer);
                    sgd.momentum_buffer?.Dispose();
                    sgd.momentum_buffer = buffer;
                    break;
                case Adam.State adam:
                    adam.step = ReadStep(reader, name);
                    reader.CopyInto(name + ".exp_avg", adam.exp_avg);
                    reader.CopyInto(name + ".exp_avg_sq", adam.exp_avg_sq);
                    break;
                case AdamW.State adamW:
                    adamW.step = ReadStep(reader, name);
                    reader.CopyInto(name + ".exp_avg", adamW.exp_avg);
                    reader.CopyInto(name + ".exp_avg_sq", adamW.exp_avg_sq);
                    break;
            }
        }
    }

    private static void AddAdam(List<TensorData> result, string name, long step, Tensor expAvg, Tensor expAvgSq)
    {
        using var stepTensor = tensor(step);
        result.Add(StateTensors.ToData(name + ".step", stepTensor));
        result.Add(StateTensors.ToData(name + ".exp_avg", expAvg));
        result.Add(StateTensors.ToData(name + ".exp_avg_sq", expAvgSq));
    }

    private static long ReadStep(StateReader reader, string name)
    {
        using var step = reader.Read(name + ".step");
        return step.dtype == ScalarType.Int64 && step.numel() == 1
            ? step.item<long>()
            : throw new InvalidDataException($"Tensor '{name}.step' must be one int64.");
    }
}
