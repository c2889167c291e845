using Soup.Core.Jobs;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;

namespace Soup.Training.Tests;

/// <summary>Language and reward models through the same fine-tuning loop as image classifiers.</summary>
[Collection(TorchCollection.Name)]
public sealed class TextTrainingTests
{
    private const string Model = "gpt2-tiny";
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);

    private static TrainSettings Settings(int steps, int batch = 4) => new()
    {
        Optimizer = Optimizers.AdamW, Steps = steps, BatchSize = batch, LearningRate = 3e-3, Seed = 5,
    };

    /// <summary>Short sentences from a small grammar: enough regularity that a tiny model learns it in a few dozen steps.</summary>
    private static List<string> Sentences(int count)
    {
        string[] subjects = ["the cat", "a dog", "my friend", "the old man"];
        string[] verbs = ["sat on", "looked at", "walked to", "slept near"];
        string[] objects = ["the mat.", "a tree.", "the house.", "the river."];
        var random = new Random(3);
        return [.. Enumerable.Range(0, count).Select(_ => $"{subjects[random.Next(4)]} {verbs[random.Next(4)]} {objects[random.Next(4)]}")];
    }

    private static FineTuneResult Train(TrainingObjective objective, TrainSettings settings, IReadOnlyList<TensorData>? init = null, TrainingState? resume = null, ITrainingObserver? observer = null) =>
        FineTuner.Run(new FineTuneOptions(Model, settings), objective, init, resume, observer, TestContext.Current.CancellationToken);

    [Fact]
    public void LanguageModel_NextTokenLoss_FallsFromUniformOnRegularText()
    {
        var blocks = TokenBlocks.Pack(Sentences(200), Tokenizer, 32);
        using var objective = new LanguageModelling(blocks);
        var observer = new RecordingObserver();

        var result = Train(objective, Settings(80) with { LearningRate = 1e-2 }, observer: observer);

        var losses = string.Join(", ", observer.Reports.Select(r => r.Loss.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(observer.Reports[0].Loss > 5, losses); // from about ln 50,257 = 10.8
        // The grammar's tokens alone (ignoring context) leave about 3 nats: below that, the model reads its context.
        Assert.True(result.FinalLoss < 2.5, $"final loss {result.FinalLoss:F2}; reports {losses}");
        Assert.True(result.FinalTrainAccuracy is > 0.2 and <= 1, $"next-token accuracy {result.FinalTrainAccuracy:F3}");
        Assert.Equal("tokens", result.Unit);
        Assert.All(observer.Reports, r => Assert.Equal("tokens", r.Unit));
    }

    [Fact]
    public void LanguageModel_ResumedFromAState_GivesTheUninterruptedWeights()
    {
        var blocks = TokenBlocks.Pack(Sentences(60), Tokenizer, 16);
        using var objective = new LanguageModelling(blocks);
        var settings = Settings(6) with { CheckpointEvery = 3, Dropout = 0.1 };
        var observer = new RecordingObserver();

        var whole = Train(objective, settings, observer: observer);
        var resumed = Train(objective, settings, resume: Assert.Single(observer.Checkpoints));
        var again = Train(objective, settings);

        Assert.True(TrainingRuns.SameBytes(whole.Weights, resumed.Weights));
        Assert.True(TrainingRuns.SameBytes(whole.Weights, again.Weights));
    }

    [Fact]
    public void LanguageModel_InitFromHuggingFaceLayout_StartsFromThoseWeights()
    {
        using var source = new Gpt2LanguageModel(Gpt2Config.Tiny);
        var hub = TorchCheckpoint.ToTensorData(source).Select(t => t with { Name = t.Name["transformer.".Length..] }).ToList();
        var blocks = TokenBlocks.Pack(Sentences(60), Tokenizer, 16);
        using var objective = new LanguageModelling(blocks);

        var result = Train(objective, Settings(1) with { LearningRate = 1e-7 }, init: hub);

        var start = TorchCheckpoint.ToTensorData(source);
        Assert.True(TrainingRuns.Distance(start, result.Weights) < 1e-3);
    }

    [Fact]
    public void RewardModel_BradleyTerry_LearnsWhichCompletionIsPreferred()
    {
        // Chosen completions carry " good", rejected ones " bad", after the same random prompt.
        var random = new Random(9);
        var pairs = Enumerable.Range(0, 64).Select(_ =>
        {
            var prompt = Enumerable.Range(0, 5).Select(_ => random.Next(300, 3000)).ToArray();
            return new TokenPair([.. prompt, .. Tokenizer.Encode(" good")], [.. prompt, .. Tokenizer.Encode(" bad")]);
        }).ToList();
        using var objective = new RewardModelling(pairs, Gpt2Config.Tiny.Context, Tokenizer.EndOfText);

        var result = Train(objective, Settings(30, batch: 8));

        Assert.True(result.FinalTrainAccuracy >= 0.9, $"pairwise accuracy {result.FinalTrainAccuracy:F2}");
        Assert.True(result.FinalLoss < Math.Log(2) / 2, $"final loss {result.FinalLoss:F3}");
        Assert.Contains(result.Weights, t => t.Name == "score.weight");
    }

    [Fact]
    public void RewardModel_LinearProbe_TrainsOnlyTheScoreHead()
    {
        var pairs = Enumerable.Range(0, 16).Select(i => new TokenPair([10 + i, 20], [10 + i, 30])).ToList();
        using var objective = new RewardModelling(pairs, 8, Tokenizer.EndOfText);
        var settings = Settings(3) with { LinearProbe = true };
        using var initial = new Gpt2RewardModel(Gpt2Config.Tiny, initGenerator: new TorchSharp.torch.Generator(5));
        var start = TorchCheckpoint.ToTensorData(initial);

        var result = Train(objective, settings, init: start);

        var changed = result.Weights.Zip(start).Where(p => !p.First.Data.Span.SequenceEqual(p.Second.Data.Span)).Select(p => p.First.Name).ToList();
        Assert.Equal(["score.weight"], changed);
    }

    [Fact]
    public void RewardModelling_LongSequences_KeepTheirLastTokensAndAreCounted()
    {
        var pairs = new List<TokenPair> { new([1, 2, 3, 4, 5, 6], [7, 8]), new([9], [10, 11, 12, 13, 14]) };
        using var objective = new RewardModelling(pairs, 4, padding: 50256);

        using var batch = objective.Batch([0, 1], new Random(0));

        Assert.Equal(2, objective.Truncated);
        Assert.Equal([4L, 4], batch.Tensors[0].shape);
        Assert.Equal(new long[] { 3, 4, 5, 6, 9, 50256, 50256, 50256, 7, 8, 50256, 50256, 11, 12, 13, 14 }, batch.Tensors[0].data<long>().ToArray());
        Assert.Equal(new long[] { 4, 1, 2, 4 }, batch.Tensors[1].data<long>().ToArray());
        Assert.Equal(11, batch.Units);
    }

    [Theory]
    [InlineData("reward", "AnchorWeight", "anchorWeight compares output distributions")]
    [InlineData("language", "LinearProbe", "linearProbe trains a classifier's head")]
    [InlineData("language-wide", "Model", "Blocks of 200 tokens exceed gpt2-tiny's context of 128.")]
    [InlineData("unknown", "Model", "Unknown model 'gpt3'. Known language models: gpt2-tiny, distilgpt2, gpt2.")]
    public void Validate_SettingsTheTaskCannotTrain_NameTheSetting(string task, string setting, string message)
    {
        var model = task == "unknown" ? "gpt3" : Model;
        var settings = Settings(5) with { AnchorWeight = task == "reward" ? 0.1 : 0, LinearProbe = task == "language" };
        using TrainingObjective objective = task == "reward"
            ? new RewardModelling([new TokenPair([1], [2]), new TokenPair([3], [4]), new TokenPair([5], [6]), new TokenPair([7], [8])], 16, 50256)
            : new LanguageModelling(TokenBlocks.Pack(Sentences(task == "language-wide" ? 200 : 20), Tokenizer, task == "language-wide" ? 200 : 8));

        var error = Assert.Throws<ArgumentException>(() => new FineTuneOptions(model, settings).Validate(objective));

        Assert.Equal(setting, error.ParamName);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pack_Documents_EndEachWithEndOfTextAndDropTheTail()
    {
        var blocks = TokenBlocks.Pack(["Hello world", "Hello"], Tokenizer, 2);

        // 15496 995 <eot> 15496 <eot>: two blocks of two, the last token dropped.
        Assert.Equal(2, blocks.Count);
        Assert.Equal(new long[] { 15496, 995 }, blocks[0].ToArray());
        Assert.Equal(new long[] { 50256, 15496 }, blocks[1].ToArray());
    }

    [Fact]
    public void Pack_TooLittleText_SaysHowMuch()
    {
        var error = Assert.Throws<InvalidDataException>(() => TokenBlocks.Pack(["Hello world"], Tokenizer, 8));

        Assert.Equal("The text has 3 tokens, fewer than one block of 8.", error.Message);
    }
}
