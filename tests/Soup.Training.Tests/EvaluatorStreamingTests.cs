using System.Text.Json;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Training.Evaluation;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>
/// <see cref="Evaluator.EvaluateAsync"/> reads checkpoints one (a midpoint: two) at a time: the number held at once does
/// not grow with the number of checkpoints, every load is let go, and the report is the one of the in-memory overload.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class EvaluatorStreamingTests(TinyDataFixture tiny)
{
    private const int Batch = 64;

    [Theory]
    [InlineData(3)]
    [InlineData(12)]
    public async Task EvaluateAsync_HoldsAtMostTwoCheckpoints_WhateverTheirNumber_SameReportAsInMemory(int count)
    {
        var checkpoints = Enumerable.Range(0, count).Select(i => new NamedCheckpoint($"c{i}", RandomWeights())).ToArray();
        int[] ensemble = [.. Enumerable.Range(0, count)];
        CheckpointPair[] pairs = [new(0, 1), new(count - 1, 0), new(1, 2)];
        var store = new CountingStore(checkpoints);

        var streamed = await Evaluator.EvaluateAsync("cnn-small", store, Splits(), ensemble, pairs, Batch, cancellationToken: TestContext.Current.CancellationToken);
        var inMemory = Evaluator.Evaluate("cnn-small", checkpoints, Splits(), ensemble, pairs, Batch);

        Assert.Equal(Json(inMemory), Json(streamed));
        Assert.Equal(count + (2 * pairs.Length), store.Loads);
        Assert.Equal(0, store.Held);
        Assert.InRange(store.MaxHeld, 1, Evaluator.MaxCheckpointsHeld);

        // Each score is the plain one-checkpoint evaluation's.
        var last = Evaluator.Evaluate("cnn-small", [checkpoints[^1].Tensors], tiny.Train, Batch).Single();
        var score = streamed.Scores.Single(s => s.Checkpoint == $"c{count - 1}" && s.Split == "train");
        Assert.Equal(last.Accuracy, score.Accuracy);
        Assert.Equal(last.Loss, score.Loss, 1e-9);
    }

    [Fact]
    public async Task EvaluateAsync_CheckpointThatDoesNotFit_FailsNamingIt_AndLetsEveryLoadGo()
    {
        var checkpoints = new[]
        {
            new NamedCheckpoint("good", RandomWeights()),
            new NamedCheckpoint("runs/3/model.safetensors", RandomWeights().Skip(1).ToList()),
            new NamedCheckpoint("after", RandomWeights()),
        };
        var store = new CountingStore(checkpoints);

        var error = await Assert.ThrowsAsync<InvalidDataException>(
            () => Evaluator.EvaluateAsync("cnn-small", store, Splits(), null, null, Batch, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("runs/3/model.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.Held);
    }

    private NamedSplit[] Splits() => [new("test", tiny.Test), new("train", tiny.Train)];

    private static string Json(EvaluationReport report) => JsonSerializer.Serialize(report, SoupJson.Default.EvaluationReport);

    private static IReadOnlyList<TensorData> RandomWeights()
    {
        using var model = ModelFactory.Create("cnn-small");
        return TorchCheckpoint.ToTensorData(model);
    }

    /// <summary>Serves checkpoints asynchronously and counts how many are loaded and not yet let go.</summary>
    private sealed class CountingStore(IReadOnlyList<NamedCheckpoint> checkpoints) : ICheckpointStore
    {
        private int _held;
        private int _maxHeld;
        private int _loads;

        public IReadOnlyList<string> Names { get; } = [.. checkpoints.Select(c => c.Name)];

        public int Held => Volatile.Read(ref _held);

        public int MaxHeld => Volatile.Read(ref _maxHeld);

        public int Loads => Volatile.Read(ref _loads);

        public async Task<IReadOnlyList<TensorData>> LoadAsync(int index, CancellationToken cancellationToken)
        {
            await Task.Yield();
            Interlocked.Increment(ref _loads);
            var held = Interlocked.Increment(ref _held);
            int seen;
            while (held > (seen = Volatile.Read(ref _maxHeld)) && Interlocked.CompareExchange(ref _maxHeld, held, seen) != seen)
            {
            }

            return checkpoints[index].Tensors;
        }

        public void Unload(int index) => Interlocked.Decrement(ref _held);
    }
}
