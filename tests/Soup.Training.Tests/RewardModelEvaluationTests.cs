using Soup.Core.Jobs;
using Soup.Training.Checkpoints;
using Soup.Training.Evaluation;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>Reward models through the evaluation classifiers use: pairwise accuracy, Bradley–Terry loss, ensemble, diversity, midpoints.</summary>
[Collection(TorchCollection.Name)]
public sealed class RewardModelEvaluationTests
{
    private const int EndOfText = 50256;

    private static List<TokenPair> Pairs(int count, int seed)
    {
        var random = new Random(seed);
        int[] Sequence() => [.. Enumerable.Range(0, random.Next(1, 9)).Select(_ => random.Next(0, 5000))];
        return [.. Enumerable.Range(0, count).Select(_ => new TokenPair(Sequence(), Sequence()))];
    }

    private static NamedCheckpoint Checkpoint(string name, ulong seed)
    {
        using var model = Gpt2Models.RewardModel(Gpt2Config.Tiny, seed: seed);
        return new NamedCheckpoint(name, TorchCheckpoint.ToTensorData(model));
    }

    /// <summary>Each pair's chosen and rejected rewards under the checkpoint, one pair at a time (no batching, no padding).</summary>
    private static List<(double Chosen, double Rejected)> Rewards(NamedCheckpoint checkpoint, IReadOnlyList<TokenPair> pairs)
    {
        using var model = new Gpt2RewardModel(Gpt2Config.Tiny);
        Gpt2Checkpoint.Load(model, checkpoint.Tensors, checkpoint.Name);
        model.eval();
        using var noGrad = no_grad();
        double Score(int[] ids)
        {
            using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
            using var reward = model.forward(input);
            return reward.item<float>();
        }
        return [.. pairs.Select(p => (Score(p.Chosen), Score(p.Rejected)))];
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void Evaluate_PreferenceSplit_ScoresPairwiseAccuracyAndBradleyTerryLoss()
    {
        var pairs = Pairs(37, seed: 1);
        var checkpoint = Checkpoint("rm", 3);

        var report = Evaluator.Evaluate(Gpt2Config.Tiny.Name, [checkpoint], [new NamedSplit("clean", new PreferenceSplit(pairs, Gpt2Config.Tiny.Context, EndOfText))], null, null, batchSize: 8);

        var rewards = Rewards(checkpoint, pairs);
        var score = Assert.Single(report.Scores);
        Assert.Equal(rewards.Count(r => r.Chosen > r.Rejected) / 37.0, score.Accuracy, 6);
        Assert.Equal(rewards.Average(r => -Math.Log(Sigmoid(r.Chosen - r.Rejected))), score.Loss, 4);
    }

    [Fact]
    public void Evaluate_SequencesLongerThanTheContext_AreCountedInTheSplitSize()
    {
        var pairs = Pairs(29, seed: 6);
        var longer = pairs.Sum(p => (p.Chosen.Length > 4 ? 1 : 0) + (p.Rejected.Length > 4 ? 1 : 0));

        var report = Evaluator.Evaluate(Gpt2Config.Tiny.Name, [Checkpoint("rm", 3)], [new NamedSplit("short", new PreferenceSplit(pairs, 4, EndOfText))], null, null, batchSize: 8);

        Assert.True(longer > 0);
        Assert.Equal(new SplitSize("short", 29, longer), Assert.Single(report.Splits));
    }

    [Fact]
    public void Evaluate_TwoRewardModels_EnsembleAveragesPreferenceProbabilitiesAndCountsDisagreement()
    {
        var pairs = Pairs(41, seed: 2);
        NamedCheckpoint[] checkpoints = [Checkpoint("a", 4), Checkpoint("b", 5)];
        var split = new PreferenceSplit(pairs, Gpt2Config.Tiny.Context, EndOfText);

        var report = Evaluator.Evaluate(Gpt2Config.Tiny.Name, checkpoints, [new NamedSplit("clean", split)], [0, 1], [new CheckpointPair(0, 1)], batchSize: 16);

        var a = Rewards(checkpoints[0], pairs);
        var b = Rewards(checkpoints[1], pairs);
        var mean = a.Zip(b, (x, y) => (Sigmoid(x.Chosen - x.Rejected) + Sigmoid(y.Chosen - y.Rejected)) / 2).ToList();
        var ensemble = Assert.Single(report.Ensemble);
        Assert.Equal(mean.Count(p => p > 0.5) / 41.0, ensemble.Accuracy, 6);
        Assert.Equal(mean.Average(p => -Math.Log(p)), ensemble.Loss, 4);
        var disagreements = a.Zip(b).Count(p => (p.First.Chosen > p.First.Rejected) != (p.Second.Chosen > p.Second.Rejected));
        Assert.Equal(disagreements / 41.0, Assert.Single(report.Diversity).Disagreement, 6);
        var midpoint = Assert.Single(report.Connectivity);
        Assert.InRange(midpoint.MidpointAccuracy, 0, 1);
    }

    [Fact]
    public void Evaluate_LanguageModelCheckpointAsRewardModel_SaysItIsNotOne()
    {
        using var language = Gpt2Models.LanguageModel(Gpt2Config.Tiny);
        var split = new PreferenceSplit(Pairs(4, seed: 3), Gpt2Config.Tiny.Context, EndOfText);

        var error = Assert.Throws<InvalidDataException>(() => Evaluator.Evaluate(
            Gpt2Config.Tiny.Name, [new NamedCheckpoint("lm", TorchCheckpoint.ToTensorData(language))], [new NamedSplit("clean", split)], null, null));

        Assert.Equal("lm: no tensor 'score.weight': it is not a reward model.", error.Message);
    }

    [Fact]
    public void Evaluate_SplitsOfDifferentKinds_AreRefused()
    {
        var pairs = new PreferenceSplit(Pairs(4, seed: 4), 16, EndOfText);
        var shorter = new PreferenceSplit(Pairs(4, seed: 5), 8, EndOfText);

        var error = Assert.Throws<ArgumentException>(() => Evaluator.Evaluate(
            Gpt2Config.Tiny.Name, [Checkpoint("rm", 1)], [new NamedSplit("a", pairs), new NamedSplit("b", shorter)], null, null));

        Assert.StartsWith("Split 'b' holds preference pairs of at most 8 tokens, but the first split 'a' holds preference pairs of at most 16 tokens.", error.Message, StringComparison.Ordinal);
    }
}
