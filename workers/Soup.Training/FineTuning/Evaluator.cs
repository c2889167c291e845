using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using TorchSharp;
using static TorchSharp.torch;
using Soup.Training.Data;
using Soup.Training.Evaluation;
using Soup.Training.Models;
using Soup.Training.Checkpoints;

namespace Soup.Training.FineTuning;

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
        string model, IReadOnlyList<IReadOnlyList<TensorData>> checkpoints, IEvaluationData data, int batchSize = 256)
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
            using var network = Load(model, data, checkpoints[i], $"checkpoint {i}", device);
            var (accuracy, loss) = ForwardPass.Run(network, data, batchSize, device);
            results.Add(new EvaluationResult(accuracy, loss, data.Count));
        }
        return results;
    }

    /// <summary>
    /// Scores every checkpoint on every split with one forward pass each (eval mode, no gradients, CUDA when available),
    /// and from those same passes the prediction ensemble and pairwise diversity of the <paramref name="ensemble"/>
    /// members; then evaluates the weight midpoint of each <paramref name="connectivity"/> pair on every split.
    /// The state dicts are all in memory here; <see cref="EvaluateAsync"/> reads them one at a time.
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
        EvaluationInputs.Validate(checkpoints, splits, ensemble, connectivity);

        // In-memory loads complete at once: this runs synchronously on the caller's thread.
        return EvaluateAsync(model, new InMemoryCheckpoints(checkpoints), splits, ensemble, connectivity, batchSize, progress).GetAwaiter().GetResult();
    }

    /// <summary>
    /// <see cref="Evaluate(string, IReadOnlyList{NamedCheckpoint}, IReadOnlyList{NamedSplit}, IReadOnlyList{int}?, IReadOnlyList{CheckpointPair}?, int, IProgress{string}?)"/>
    /// in memory that does not grow with the number of checkpoints: each is read from <paramref name="checkpoints"/>,
    /// loaded into the model and let go (<see cref="ICheckpointStore.Unload"/>) before its forward passes, while the next
    /// one is read; a midpoint reads its two endpoints, computes the midpoint and lets them go. At most
    /// <see cref="MaxCheckpointsHeld"/> state dicts are held at once, plus one model; what is kept across checkpoints is
    /// the scores and, for the ensemble members, the per-example sums and predicted classes the ensemble and diversity
    /// need. Same results, in the same order.
    /// </summary>
    /// <exception cref="ArgumentException">An input is invalid; the message says which and why.</exception>
    /// <exception cref="InvalidDataException">A checkpoint cannot be read or does not match the model (the message names
    /// it), or a score is not finite.</exception>
    public static async Task<EvaluationReport> EvaluateAsync(
        string model,
        ICheckpointStore checkpoints,
        IReadOnlyList<NamedSplit> splits,
        IReadOnlyList<int>? ensemble,
        IReadOnlyList<CheckpointPair>? connectivity,
        int batchSize = 256,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var names = checkpoints.Names;
        EvaluationInputs.Validate(names, splits, ensemble, connectivity);
        var members = (ensemble ?? []).ToList();
        var first = splits[0].Data;
        var device = TorchDevice.Preferred();
        var accumulators = members.Count == 0
            ? []
            : splits.Select(s => new EnsembleAccumulator(members.Count, s.Data.Count, first.Classes)).ToArray();

        var scores = new List<CheckpointScore>(names.Count * splits.Count);
        await using (var reads = new Prefetcher(checkpoints, Enumerable.Range(0, names.Count).Select(i => new[] { i }), cancellationToken))
        {
            for (var i = 0; i < names.Count; i++)
            {
                var member = members.IndexOf(i);
                var tensors = await reads.NextAsync();
                nn.Module network;
                try
                {
                    network = Load(model, first, tensors[0], names[i], device);
                }
                finally
                {
                    reads.Release();
                }

                using (network)
                {
                    for (var s = 0; s < splits.Count; s++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        var (accuracy, loss) = ForwardPass.Run(
                            network, splits[s].Data, batchSize, device, member < 0 ? null : accumulators[s], Math.Max(member, 0));
                        scores.Add(Checked(new CheckpointScore(names[i], splits[s].Name, accuracy, loss), loss, progress));
                    }
                }
            }
        }

        return new EvaluationReport
        {
            Splits = splits.Select(s => new SplitSize(s.Name, s.Data.Count, s.Data.Truncated)).ToList(),
            Scores = scores,
            Ensemble = accumulators.Select((a, s) => EnsembleScore(splits[s].Name, a)).ToList(),
            Diversity = accumulators.Select((a, s) => Diversity(splits[s].Name, a)).ToList(),
            Connectivity = await ConnectivityAsync(model, checkpoints, splits, connectivity ?? [], scores, batchSize, device, progress, cancellationToken),
        };
    }

    /// <summary>The most state dicts <see cref="EvaluateAsync"/> holds at once: a midpoint's two endpoints (and the
    /// midpoint computed from them); otherwise one, loaded into the model and let go before the next is read.</summary>
    public const int MaxCheckpointsHeld = 2;

    private static async Task<List<ConnectivityScore>> ConnectivityAsync(
        string model,
        ICheckpointStore checkpoints,
        IReadOnlyList<NamedSplit> splits,
        IReadOnlyList<CheckpointPair> pairs,
        List<CheckpointScore> scores,
        int batchSize,
        Device device,
        IProgress<string>? progress,
        CancellationToken cancellationToken)
    {
        var result = new List<ConnectivityScore>(pairs.Count * splits.Count);
        var names = checkpoints.Names;

        // One pair's endpoints are read while the previous midpoint is scored: at most two state dicts at once, as the
        // previous pair's are let go before the next pair's reads start.
        await using var reads = new Prefetcher(checkpoints, pairs.Select(p => new[] { p.A, p.B }), cancellationToken);
        foreach (var (a, b) in pairs)
        {
            var name = $"midpoint of '{names[a]}' and '{names[b]}'";
            var endpoints = await reads.NextAsync();
            nn.Module network;
            try
            {
                var midpoint = MidpointWeights.Compute(endpoints[0], endpoints[1], names[a], names[b]);
                network = Load(model, splits[0].Data, midpoint, name, device);
            }
            finally
            {
                reads.Release();
            }

            using (network)
            {
                for (var s = 0; s < splits.Count; s++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var (accuracy, loss) = ForwardPass.Run(network, splits[s].Data, batchSize, device);
                    Checked(new CheckpointScore(name, splits[s].Name, accuracy, loss), loss, progress);
                    var mean = (scores[(a * splits.Count) + s].Accuracy + scores[(b * splits.Count) + s].Accuracy) / 2;
                    result.Add(new ConnectivityScore(splits[s].Name, a, b, accuracy, loss, mean, mean - accuracy));
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Reads groups of checkpoints (one, or a midpoint's two) in order: the next group as soon as the current one is
    /// released, so that its reads overlap the current model's forward passes while at most
    /// <see cref="MaxCheckpointsHeld"/> state dicts are held. Every successful load is matched by one
    /// <see cref="ICheckpointStore.Unload"/>, failures and cancellation included.
    /// </summary>
    private sealed class Prefetcher(ICheckpointStore store, IEnumerable<int[]> groups, CancellationToken cancellationToken) : IAsyncDisposable
    {
        private readonly IEnumerator<int[]> _groups = groups.GetEnumerator();
        private Group? _next;
        private Group? _current;

        /// <summary>The next group's state dicts (read now, unless already read ahead); hold them until <see cref="Release"/>.</summary>
        public async Task<IReadOnlyList<TensorData>[]> NextAsync()
        {
            if (_next is null)
                StartNext();
            (_current, _next) = (_next, null);
            return await _current!.Read;
        }

        /// <summary>Lets the current group go, and starts reading the next one.</summary>
        public void Release()
        {
            Unload(_current);
            _current = null;
            StartNext();
        }

        public async ValueTask DisposeAsync()
        {
            if (_next is { } next)
            {
                try
                {
                    await next.Read;
                }
                catch (Exception)
                {
                    // A read ahead that is no longer wanted (the evaluation failed or was cancelled): its error is moot.
                }
            }

            Unload(_current);
            Unload(_next);
            _groups.Dispose();
        }

        private void Unload(Group? group)
        {
            foreach (var index in group?.Loaded ?? [])
                store.Unload(index);
            group?.Loaded.Clear();
        }

        private void StartNext()
        {
            if (!_groups.MoveNext())
                return;
            var group = new Group();
            group.Read = ReadAsync(_groups.Current, group.Loaded);
            _next = group;
        }

        private async Task<IReadOnlyList<TensorData>[]> ReadAsync(int[] indices, List<int> loaded)
        {
            var result = new IReadOnlyList<TensorData>[indices.Length];
            for (var i = 0; i < indices.Length; i++)
            {
                result[i] = await store.LoadAsync(indices[i], cancellationToken);
                loaded.Add(indices[i]);
            }
            return result;
        }

        private sealed class Group
        {
            public List<int> Loaded { get; } = [];

            public Task<IReadOnlyList<TensorData>[]> Read { get; set; } = null!;
        }
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

    private static nn.Module Load(string model, IEvaluationData data, IReadOnlyList<TensorData> tensors, string source, Device device)
    {
        var network = data.CreateModel(model);
        try
        {
            data.Load(network, tensors, source);
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
