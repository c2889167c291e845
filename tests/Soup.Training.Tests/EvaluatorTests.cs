using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using static TorchSharp.torch;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class EvaluatorTests(TinyDataFixture tiny)
{
    [Fact]
    public void Evaluate_MatchesAccuracyAndLossComputedFromRawLogits()
    {
        var options = new FineTuneOptions("cnn-small", new TrainSettings { Steps = 15, BatchSize = 32, LearningRate = 0.05, Seed = 3 });
        var trained = FineTuner.Run(options, tiny.Train, null, null, null, TestContext.Current.CancellationToken).Weights;
        var (expectedAccuracy, expectedLoss) = Independently(trained);

        var result = Evaluator.Evaluate("cnn-small", [trained], tiny.Test, batchSize: 64).Single();

        Assert.Equal(tiny.Test.Count, result.Count);
        Assert.Equal(expectedAccuracy, result.Accuracy);
        Assert.Equal(expectedLoss, result.Loss, tolerance: 1e-4);
    }

    [Fact]
    public void Evaluate_SeveralCheckpoints_ReturnsOneResultEachInOrder()
    {
        using var a = ModelFactory.Create("cnn-small");
        using var b = ModelFactory.Create("cnn-small");
        var checkpoints = new[] { TorchCheckpoint.ToTensorData(a), TorchCheckpoint.ToTensorData(b) };

        var results = Evaluator.Evaluate("cnn-small", checkpoints, tiny.Test);

        Assert.Equal(2, results.Count);
        Assert.Equal(Independently(checkpoints[1]).Accuracy, results[1].Accuracy);
    }

    [Fact]
    public void Evaluate_MismatchedCheckpoint_ThrowsNamingIt()
    {
        using var model = ModelFactory.Create("cnn-small");
        var broken = TorchCheckpoint.ToTensorData(model).Skip(1).ToList();

        var error = Assert.Throws<InvalidDataException>(
            () => Evaluator.Evaluate("cnn-small", [TorchCheckpoint.ToTensorData(model), broken], tiny.Test));

        Assert.Contains("checkpoint 1", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Accuracy and mean cross-entropy from the raw logits, with argmax and log-sum-exp done here in C#.</summary>
    private (double Accuracy, double Loss) Independently(IReadOnlyList<TensorData> weights)
    {
        using var model = ModelFactory.Create("cnn-small");
        TorchCheckpoint.Load(model, weights, "test");
        model.eval();
        float[] logits;
        using (no_grad())
        using (var output = model.forward(tiny.Test.Images))
            logits = output.data<float>().ToArray();
        var labels = tiny.Test.Labels.data<long>().ToArray();

        var correct = 0;
        double loss = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = logits.AsSpan(i * 10, 10);
            var best = 0;
            for (var c = 1; c < 10; c++)
                best = row[c] > row[best] ? c : best;
            correct += best == labels[i] ? 1 : 0;
            var max = row[best];
            double sum = 0;
            foreach (var value in row)
                sum += Math.Exp(value - max);
            loss += max + Math.Log(sum) - row[(int)labels[i]];
        }
        return ((double)correct / labels.Length, loss / labels.Length);
    }
}
