using Soup.Core.Checkpoints;
using Soup.Core.Jobs;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>Scores checkpoints on labelled data.</summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates each checkpoint (in eval mode, without gradients, on CUDA when available) on every example of
    /// <paramref name="data"/>; results are in checkpoint order.
    /// </summary>
    /// <param name="model">A name from <see cref="ModelFactory.KnownModels"/>.</param>
    /// <param name="checkpoints">State dicts matching the model.</param>
    /// <param name="data">The examples (their evaluation view); not empty. The model is built for their shape.</param>
    /// <param name="batchSize">
    /// Examples per forward pass. On 2 CPU cores a forward pass of 1000 images took about 7 times as long per image
    /// as one of 256, hence the default.
    /// </param>
    /// <exception cref="InvalidDataException">A checkpoint does not match the model; the message says which.</exception>
    public static IReadOnlyList<EvaluationResult> Evaluate(
        string model, IReadOnlyList<IReadOnlyList<TensorData>> checkpoints, ILabelledImages data, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (data.Count == 0)
            throw new ArgumentException("The evaluation data is empty.", nameof(data));

        var device = TorchDevice.Preferred();
        var results = new List<EvaluationResult>(checkpoints.Count);
        for (var i = 0; i < checkpoints.Count; i++)
        {
            using var network = Load(model, data.Shape, checkpoints[i], $"checkpoint {i}", device);
            var (accuracy, loss) = ForwardPass.Run(network, data, batchSize, device);
            results.Add(new EvaluationResult(accuracy, loss, data.Count));
        }
        return results;
    }

    /// <summary>
    /// Scores every checkpoint on every split with one forward pass each (eval mode, no gradients, CUDA when available),
    /// and from those same passes the prediction ensemble and pairwise diversity of the <paramref name="ensemble"/>
    /// members; then evaluates the weight midpoint of each <paramref name="connectivity"/> pair on every split.
    /// </summary>
    /// <param name="model">A name from <see cref="ModelFactory.KnownModels"/>; built for the splits' shape.</param>
    /// <param name="checkpoints">The checkpoints, in report order; at least one.</param>
    /// <param name="splits">The splits, in report order: at least one, unique names, none empty, all of one shape.</param>
    /// <param name="ensemble">
    /// Distinct indices into <paramref name="checkpoints"/>; null or empty: no ensemble or diversity. The ensemble
    /// averages the members' softmax outputs: its accuracy takes their argmax, its loss is the mean of
    /// −log(mean probability of the label), floored at log-probability −100 so it stays finite. Diversity is
    /// <see cref="DiversityMetrics.MeanDisagreement"/> and <see cref="DiversityMetrics.MeanRatioError"/> over all member
    /// pairs (<see cref="DiversityScore.Pairs"/> counts them; with one member both are 0).
    /// </param>
    /// <param name="connectivity">
    /// Pairs of distinct indices into <paramref name="checkpoints"/>; null or empty: none. The midpoint is
    /// <see cref="MidpointWeights.Compute"/> (non-floating tensors are A's); its gap is the mean of A's and B's accuracy
    /// minus the midpoint's.
    /// </param>
    /// <param name="batchSize">Examples per forward pass.</param>
    /// <param name="progress">Gets a line after each checkpoint or midpoint is scored on a split.</param>
    /// <exception cref="ArgumentException">An input is invalid (see the parameters); the message says which and why.</exception>
    /// <exception cref="InvalidDataException">
    /// A checkpoint does not match the model (the message names it), or a score is not finite.
    /// </exception>
    public static EvaluationReport Evaluate(
        string model,
        IReadOnlyList<NamedCheckpoint> checkpoints,
        IReadOnlyList<NamedSplit> splits,
        IReadOnlyList<int>? ensemble,
        IReadOnlyList<CheckpointPair>? connectivity,
        int batchSize = 256,
        IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        EvaluationInputs.Validate(checkpoints, splits, ensemble, connectivity);
        var members = (ensemble ?? []).ToList();
        var shape = splits[0].Data.Shape;
        var device = TorchDevice.Preferred();
        var accumulators = members.Count == 0
            ? []
            : splits.Select(s => new EnsembleAccumulator(members.Count, s.Data.Count, shape.Classes)).ToArray();

        var scores = new List<CheckpointScore>(checkpoints.Count * splits.Count);
        for (var i = 0; i < checkpoints.Count; i++)
        {
            var checkpoint = checkpoints[i];
            var member = members.IndexOf(i);
            using var network = Load(model, shape, checkpoint.Tensors, checkpoint.Name, device);
            for (var s = 0; s < splits.Count; s++)
            {
                var (accuracy, loss) = ForwardPass.Run(
                    network, splits[s].Data, batchSize, device, member < 0 ? null : accumulators[s], Math.Max(member, 0));
                scores.Add(Checked(new CheckpointScore(checkpoint.Name, splits[s].Name, accuracy, loss), loss, progress));
            }
        }

        return new EvaluationReport
        {
            Splits = splits.Select(s => new SplitSize(s.Name, s.Data.Count)).ToList(),
            Scores = scores,
            Ensemble = accumulators.Select((a, s) => EnsembleScore(splits[s].Name, a)).ToList(),
            Diversity = accumulators.Select((a, s) => Diversity(splits[s].Name, a)).ToList(),
            Connectivity = Connectivity(model, checkpoints, splits, connectivity ?? [], scores, batchSize, device, progress),
        };
    }

    private static List<ConnectivityScore> Connectivity(
        string model,
        IReadOnlyList<NamedCheckpoint> checkpoints,
        IReadOnlyList<NamedSplit> splits,
        IReadOnlyList<CheckpointPair> pairs,
        List<CheckpointScore> scores,
        int batchSize,
        Device device,
        IProgress<string>? progress)
    {
        var result = new List<ConnectivityScore>(pairs.Count * splits.Count);
        foreach (var (a, b) in pairs)
        {
            var (first, second) = (checkpoints[a], checkpoints[b]);
            var midpoint = MidpointWeights.Compute(first.Tensors, second.Tensors, first.Name, second.Name);
            var name = $"midpoint of '{first.Name}' and '{second.Name}'";
            using var network = Load(model, splits[0].Data.Shape, midpoint, name, device);
            for (var s = 0; s < splits.Count; s++)
            {
                var (accuracy, loss) = ForwardPass.Run(network, splits[s].Data, batchSize, device);
                Checked(new CheckpointScore(name, splits[s].Name, accuracy, loss), loss, progress);
                var endpoints = (scores[(a * splits.Count) + s].Accuracy + scores[(b * splits.Count) + s].Accuracy) / 2;
                result.Add(new ConnectivityScore(splits[s].Name, a, b, accuracy, loss, endpoints, endpoints - accuracy));
            }
        }
        return result;
    }

    private static SplitScore EnsembleScore(string split, EnsembleAccumulator accumulator)
    {
        var (accuracy, loss) = accumulator.Score();
        return new SplitScore(split, accumulator.Members, accuracy, loss);
    }

    private static DiversityScore Diversity(string split, EnsembleAccumulator accumulator)
    {
        var pairs = accumulator.PairCounts();
        return new DiversityScore(split, pairs.Count, DiversityMetrics.MeanDisagreement(pairs), DiversityMetrics.MeanRatioError(pairs));
    }

    private static CheckpointScore Checked(CheckpointScore score, double loss, IProgress<string>? progress)
    {
        if (!double.IsFinite(loss))
            throw new InvalidDataException($"'{score.Checkpoint}' has a loss of {loss} on split '{score.Split}': its weights or outputs are not finite.");
        progress?.Report($"'{score.Checkpoint}' on '{score.Split}': accuracy {score.Accuracy:F4}, loss {score.Loss:F4}");
        return score;
    }

    private static nn.Module<Tensor, Tensor> Load(string model, ModelShape shape, IReadOnlyList<TensorData> tensors, string source, Device device)
    {
        var network = ModelFactory.Create(model, shape);
        try
        {
            TorchCheckpoint.Load(network, tensors, source);
            network.to(device);
            network.eval();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }
}
