using Soup.Core.Jobs;
using Soup.Training.Checkpoints;
using Soup.Training.Evaluation;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>Language models through the evaluation classifiers use: next-token accuracy and loss, ensemble, diversity, midpoints.</summary>
[Collection(TorchCollection.Name)]
public sealed class TextSplitTests
{
    private const int BlockLength = 16;

    private static TokenBlocks Blocks(int count, int seed)
    {
        var random = new Random(seed);
        return TokenBlocks.FromTokens([.. Enumerable.Range(0, count * BlockLength).Select(_ => (long)random.Next(0, 5000))], BlockLength);
    }

    private static NamedCheckpoint Checkpoint(string name, ulong seed)
    {
        using var model = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: seed);
        return new NamedCheckpoint(name, TorchCheckpoint.ToTensorData(model));
    }

    /// <summary>Each position's next-token log-probabilities and label, one whole block per forward pass.</summary>
    private static List<(float[] LogProbabilities, long Label)> Direct(NamedCheckpoint checkpoint, TokenBlocks blocks)
    {
        using var model = new Gpt2LanguageModel(Gpt2Config.Tiny);
        Gpt2Checkpoint.Load(model, checkpoint.Tensors, checkpoint.Name);
        model.eval();
        using var noGrad = no_grad();
        var result = new List<(float[], long)>();
        for (var b = 0; b < blocks.Count; b++)
        {
            var ids = blocks[b].ToArray();
            using var input = tensor(ids, [1, BlockLength]);
            using var logits = model.forward(input);
            using var log = nn.functional.log_softmax(logits[0], 1);
            for (var p = 0; p < BlockLength - 1; p++)
                result.Add((log[p].data<float>().ToArray(), ids[p + 1]));
        }

        return result;
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());

    [Fact]
    public void Evaluate_TextSplit_ScoresNextTokenAccuracyAndLoss_WhateverTheBatching()
    {
        var blocks = Blocks(5, seed: 1);
        var checkpoint = Checkpoint("lm", 3);
        var split = new TextSplit(blocks, Gpt2Config.Gpt2Vocabulary);

        // Batches of 7 positions cut blocks of 15 predictions: a position still sees its whole block.
        var report = Evaluator.Evaluate(Gpt2Config.Tiny.Name, [checkpoint], [new NamedSplit("held-out", split)], null, null, batchSize: 7);

        var direct = Direct(checkpoint, blocks);
        Assert.Equal(5 * (BlockLength - 1), split.Count);
        var score = Assert.Single(report.Scores);
        Assert.Equal(direct.Count(d => ArgMax(d.LogProbabilities) == d.Label) / (double)direct.Count, score.Accuracy, 6);
        Assert.Equal(direct.Average(d => -d.LogProbabilities[d.Label]), score.Loss, 3);
        Assert.InRange(score.Loss, 9, 12); // an untrained model is near log(50257) = 10.8
    }

    [Fact]
    public void Evaluate_TwoLanguageModels_EnsembleAveragesNextTokenDistributions_DisagreementCountsOtherArgmax()
    {
        var blocks = Blocks(3, seed: 2);
        NamedCheckpoint[] checkpoints = [Checkpoint("a", 4), Checkpoint("b", 5)];
        var split = new TextSplit(blocks, Gpt2Config.Gpt2Vocabulary);

        var report = Evaluator.Evaluate(Gpt2Config.Tiny.Name, checkpoints, [new NamedSplit("held-out", split)], [0, 1], [new CheckpointPair(0, 1)], batchSize: 16);

        var a = Direct(checkpoints[0], blocks);
        var b = Direct(checkpoints[1], blocks);
        var mean = a.Zip(b, (x, y) => x.LogProbabilities.Zip(y.LogProbabilities, (p, q) => (MathF.Exp(p) + MathF.Exp(q)) / 2).ToArray()).ToList();
        var ensemble = Assert.Single(report.Ensemble);
        Assert.Equal(mean.Select((m, i) => ArgMax(m) == a[i].Label).Count(c => c) / (double)mean.Count, ensemble.Accuracy, 6);
        Assert.Equal(mean.Select((m, i) => -Math.Log(m[a[i].Label])).Average(), ensemble.Loss, 3);
        var disagreements = a.Zip(b).Count(p => ArgMax(p.First.LogProbabilities) != ArgMax(p.Second.LogProbabilities));
        Assert.Equal(disagreements / (double)a.Count, Assert.Single(report.Diversity).Disagreement, 6);
        Assert.InRange(Assert.Single(report.Connectivity).MidpointAccuracy, 0, 1);
    }

    [Fact]
    public void TextSplit_KeepsTheFirstBlocksWithinMaxPositions_AndSaysHowManyItDropped()
    {
        var split = new TextSplit(Blocks(200, seed: 3), Gpt2Config.Gpt2Vocabulary);

        // 2,048 positions of 15 predictions each: 136 whole blocks (2,040 positions).
        Assert.Equal((2040, 64), (split.Count, split.DroppedBlocks));
        Assert.Equal(Gpt2Config.Gpt2Vocabulary, split.Classes);
    }

    [Fact]
    public void Load_RewardModelCheckpoint_IsRefusedNamingItsHead()
    {
        using var rewardModel = Gpt2Models.RewardModel(Gpt2Config.Tiny);
        var split = new TextSplit(Blocks(1, seed: 4), Gpt2Config.Gpt2Vocabulary);
        using var model = split.CreateModel(Gpt2Config.Tiny.Name);

        var error = Assert.Throws<InvalidDataException>(() => split.Load(model, TorchCheckpoint.ToTensorData(rewardModel), "round-01/member-000"));

        Assert.StartsWith("round-01/member-000: it has 'score.weight', a reward model's head", error.Message, StringComparison.Ordinal);
    }
}
