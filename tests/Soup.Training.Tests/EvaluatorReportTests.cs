using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using static TorchSharp.torch;
using Soup.Training.Evaluation;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class EvaluatorReportTests(TinyDataFixture tiny)
{
    private const int Batch = 64;

    [Fact]
    public void Evaluate_TwoSplits_ScoresMatchSimpleOverloadInCheckpointMajorOrder()
    {
        var (a, b) = (RandomWeights(), RandomWeights());

        var report = Evaluator.Evaluate("cnn-small", [new("a", a), new("b", b)], Splits(), null, null, Batch);

        Assert.Equal([new SplitSize("test", 200), new SplitSize("train", 600)], report.Splits);
        Assert.Equal(["a/test", "a/train", "b/test", "b/train"], report.Scores.Select(s => $"{s.Checkpoint}/{s.Split}"));
        var onTest = Evaluator.Evaluate("cnn-small", [a, b], tiny.Test, Batch);
        var onTrain = Evaluator.Evaluate("cnn-small", [a, b], tiny.Train, Batch);
        Assert.Equal(
            [onTest[0].Accuracy, onTrain[0].Accuracy, onTest[1].Accuracy, onTrain[1].Accuracy],
            report.Scores.Select(s => s.Accuracy));
        Assert.Equal(
            [onTest[0].Loss, onTrain[0].Loss, onTest[1].Loss, onTrain[1].Loss],
            report.Scores.Select(s => s.Loss));
        Assert.Empty(report.Ensemble);
        Assert.Empty(report.Diversity);
        Assert.Empty(report.Connectivity);
    }

    [Fact]
    public void Evaluate_EnsembleOfCheckpointWithItself_EqualsItsScoreWithNoDiversity()
    {
        var a = RandomWeights();

        var report = Evaluator.Evaluate("cnn-small", [new("a", a), new("a again", a)], Splits(), [0, 1], null, Batch);

        Assert.Equal(["test", "train"], report.Ensemble.Select(e => e.Split));
        for (var s = 0; s < 2; s++)
        {
            var (single, ensemble, diversity) = (report.Scores[s], report.Ensemble[s], report.Diversity[s]);
            Assert.Equal(2, ensemble.Members);
            Assert.Equal(single.Accuracy, ensemble.Accuracy);
            Assert.Equal(single.Loss, ensemble.Loss, tolerance: 1e-5);
            Assert.Equal(new DiversityScore(single.Split, Pairs: 1, Disagreement: 0, RatioError: 0), diversity);
        }
    }

    [Fact]
    public void Evaluate_EnsembleOfTwoOfThree_MatchesIndependentComputation()
    {
        NamedCheckpoint[] checkpoints = [new("a", RandomWeights()), new("b", RandomWeights()), new("c", RandomWeights())];

        var report = Evaluator.Evaluate("cnn-small", checkpoints, Splits(), [2, 0], null, Batch);

        var labels = tiny.Test.Labels.data<long>().ToArray().Select(l => (int)l).ToArray();
        var first = Logits(checkpoints[2].Tensors);
        var second = Logits(checkpoints[0].Tensors);
        var correct = 0;
        double loss = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var mean = Softmax(first[i]).Zip(Softmax(second[i]), (p, q) => (p + q) / 2).ToArray();
            correct += ArgMax(mean) == labels[i] ? 1 : 0;
            loss -= Math.Log(mean[labels[i]]);
        }
        var counts = DiversityMetrics.Count(labels, first.Select(ArgMax).ToArray(), second.Select(ArgMax).ToArray());
        Assert.Equal(new SplitScore("test", 2, (double)correct / labels.Length, report.Ensemble[0].Loss), report.Ensemble[0]);
        Assert.Equal(loss / labels.Length, report.Ensemble[0].Loss, tolerance: 1e-5);
        Assert.Equal(1, report.Diversity[0].Pairs);
        Assert.Equal(DiversityMetrics.Disagreement(counts), report.Diversity[0].Disagreement);
        Assert.Equal(DiversityMetrics.RatioError(counts) ?? 0, report.Diversity[0].RatioError);
        Assert.True(report.Diversity[0].Disagreement > 0, "two random inits should disagree somewhere");
    }

    [Fact]
    public void Evaluate_ConnectivityOfIdenticalCheckpoints_HasZeroGap()
    {
        var a = RandomWeights();

        var report = Evaluator.Evaluate("cnn-small", [new("a", a), new("a again", a)], Splits(), null, [new(0, 1)], Batch);

        Assert.Equal(2, report.Connectivity.Count);
        for (var s = 0; s < 2; s++)
        {
            var (score, connectivity) = (report.Scores[s], report.Connectivity[s]);
            Assert.Equal((score.Split, 0, 1), (connectivity.Split, connectivity.A, connectivity.B));
            Assert.Equal(score.Accuracy, connectivity.MidpointAccuracy);
            Assert.Equal(score.Accuracy, connectivity.EndpointMeanAccuracy);
            Assert.Equal(score.Loss, connectivity.MidpointLoss, tolerance: 1e-6);
            Assert.Equal(0, connectivity.Gap);
        }
    }

    [Fact]
    public void Evaluate_ConnectivityOfTwoCheckpoints_ScoresTheirMidpointPerPairAndSplit()
    {
        var (a, b) = (RandomWeights(), RandomWeights());
        var lines = new List<string>();

        var report = Evaluator.Evaluate(
            "cnn-small", [new("a", a), new("b", b)], Splits(), null, [new(0, 1), new(1, 0)], Batch, new Lines(lines));

        var midpoint = MidpointWeights.Compute(a, b, "a", "b");
        var expected = new[] { tiny.Test, tiny.Train }.Select(data => Evaluator.Evaluate("cnn-small", [midpoint], data, Batch).Single()).ToArray();
        Assert.Equal(["test 0-1", "train 0-1", "test 1-0", "train 1-0"], report.Connectivity.Select(c => $"{c.Split} {c.A}-{c.B}"));
        for (var i = 0; i < 4; i++)
        {
            var (connectivity, s) = (report.Connectivity[i], i % 2);
            var endpoints = (report.Scores[s].Accuracy + report.Scores[2 + s].Accuracy) / 2;
            Assert.Equal(expected[s].Accuracy, connectivity.MidpointAccuracy);
            Assert.Equal(expected[s].Loss, connectivity.MidpointLoss, tolerance: 1e-6);
            Assert.Equal(endpoints, connectivity.EndpointMeanAccuracy);
            Assert.Equal(endpoints - connectivity.MidpointAccuracy, connectivity.Gap);
        }
        Assert.Equal(4 + 4, lines.Count);
    }

    [Fact]
    public void Evaluate_MismatchedCheckpoint_ThrowsInvalidDataNamingIt()
    {
        var broken = RandomWeights().Skip(1).ToList();

        var error = Assert.Throws<InvalidDataException>(
            () => Evaluator.Evaluate("cnn-small", [new("good", RandomWeights()), new("runs/7/model.safetensors", broken)], Splits(), null, null, Batch));

        Assert.Contains("runs/7/model.safetensors", error.Message, StringComparison.Ordinal);
    }

    private NamedSplit[] Splits() => [new("test", tiny.Test), new("train", tiny.Train)];

    private static IReadOnlyList<TensorData> RandomWeights()
    {
        using var model = ModelFactory.Create("cnn-small");
        return TorchCheckpoint.ToTensorData(model);
    }

    private float[][] Logits(IReadOnlyList<TensorData> weights)
    {
        using var model = ModelFactory.Create("cnn-small");
        TorchCheckpoint.Load(model, weights, "test");
        model.eval();
        using var noGrad = no_grad();
        using var output = model.forward(tiny.Test.Images);
        var flat = output.data<float>().ToArray();
        return Enumerable.Range(0, flat.Length / 10).Select(i => flat.AsSpan(i * 10, 10).ToArray()).ToArray();
    }

    private static double[] Softmax(float[] logits)
    {
        var max = logits.Max();
        var exps = logits.Select(l => Math.Exp(l - max)).ToArray();
        var sum = exps.Sum();
        return exps.Select(e => e / sum).ToArray();
    }

    private static int ArgMax(float[] values) => ArgMax(values.Select(v => (double)v).ToArray());

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var c = 1; c < values.Length; c++)
            best = values[c] > values[best] ? c : best;
        return best;
    }

    private sealed class Lines(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
