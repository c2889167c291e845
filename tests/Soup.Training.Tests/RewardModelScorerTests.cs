using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Models;
using Soup.Training.Text;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

public sealed class RewardModelScorerTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);

    private static double Direct(Gpt2RewardModel model, string text)
    {
        using var noGrad = no_grad();
        var ids = Tokenizer.Encode(text);
        using var input = tensor(ids.Select(t => (long)t).ToArray(), [1, ids.Length]);
        return model.forward(input).to(float64).item<double>();
    }

    [Fact]
    public void Score_IsTheRewardModelsRewardOfPromptPlusCompletion_WhateverTheBatchAndPadding()
    {
        TorchSetup.Initialize();
        using var model = Gpt2Models.RewardModel(seed: 3);
        using var scorer = RewardModelScorer.Load("rm", Gpt2Models.Small, TorchCheckpoint.ToTensorData(model), "test");
        string[] prompts = ["The cat", "A long and winding road", "Yes"];
        string[] completions = [" sat.", " leads home at last.", ""];

        var batch = scorer.Score(prompts, completions);

        for (var i = 0; i < prompts.Length; i++)
            Assert.Equal(Direct(model, prompts[i] + completions[i]), batch[i], 5);
        Assert.NotEqual(batch[0], batch[1]);
        Assert.Equal(0, scorer.Truncated);
        Assert.Equal(batch, scorer.AsReward().Score(prompts, completions));
        Assert.Equal("rm", TextReward.Named("rm", new Dictionary<string, RewardModelScorer> { ["rm"] = scorer }).Name);
    }

    [Fact]
    public void Score_SequenceLongerThanTheContext_IsCutFromTheLeft_AndCounted()
    {
        TorchSetup.Initialize();
        using var model = Gpt2Models.RewardModel(seed: 4);
        using var scorer = RewardModelScorer.Load("rm", Gpt2Models.Small, TorchCheckpoint.ToTensorData(model), "test");
        var words = string.Concat(Enumerable.Range(0, 40).Select(i => $" word{i}"));
        var ids = Tokenizer.Encode("Start:" + words);
        Assert.True(ids.Length > Gpt2Models.Small.Context, $"{ids.Length} tokens");

        var score = Assert.Single(scorer.Score(["Start:"], [words]));

        using var noGrad = no_grad();
        using var last = tensor(ids[^Gpt2Models.Small.Context..].Select(t => (long)t).ToArray(), [1, Gpt2Models.Small.Context]);
        Assert.Equal(model.forward(last).to(float64).item<double>(), score, 5);
        Assert.Equal(1, scorer.Truncated);
    }

    [Fact]
    public void Load_LanguageModelCheckpoint_IsRefused_NamingTheMissingHead()
    {
        TorchSetup.Initialize();
        using var lm = Gpt2Models.LanguageModel(seed: 2);

        var error = Assert.Throws<InvalidDataException>(() => RewardModelScorer.Load("warm", Gpt2Models.Small, TorchCheckpoint.ToTensorData(lm), "bases/lm.safetensors"));

        Assert.Contains("reward model 'warm'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'bases/lm.safetensors' has no score.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TensorOfTheWrongShape_NamesTheTensorAndBothShapes()
    {
        TorchSetup.Initialize();
        using var model = Gpt2Models.RewardModel(seed: 2);
        var tensors = TorchCheckpoint.ToTensorData(model).Select(t => t.Name == "score.weight" ? new TensorData(t.Name, t.Dtype, [1, 16], t.Data[..(16 * 4)]) : t).ToList();

        var error = Assert.Throws<InvalidDataException>(() => RewardModelScorer.Load("warm", Gpt2Models.Small, tensors, "rm.safetensors"));

        Assert.Contains("score.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("16", error.Message, StringComparison.Ordinal);
        Assert.Contains("32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFits_SequencesLongerThanItsContext_OrAnotherVocabulary_AreRefusedWithTheNumbers()
    {
        TorchSetup.Initialize();
        using var model = Gpt2Models.RewardModel(seed: 2);
        using var scorer = RewardModelScorer.Load("rm", Gpt2Models.Small, TorchCheckpoint.ToTensorData(model), "test");

        scorer.CheckFits(Gpt2Models.Small, 24);
        var tooLong = Assert.Throws<ArgumentException>(() => scorer.CheckFits(Gpt2Models.Small, 25));
        var otherVocabulary = Assert.Throws<ArgumentException>(() => scorer.CheckFits(Gpt2Models.Small with { VocabularySize = 1000 }, 8));

        Assert.Contains("reads at most 24 tokens", tooLong.Message, StringComparison.Ordinal);
        Assert.Contains("25 tokens", tooLong.Message, StringComparison.Ordinal);
        Assert.Contains("1000", otherVocabulary.Message, StringComparison.Ordinal);
    }
}
