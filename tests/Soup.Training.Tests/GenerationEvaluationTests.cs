using Soup.Core.Jobs;
using Soup.Training.Checkpoints;
using Soup.Training.Models;
using Soup.Training.Text;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>Language models scored by what they generate: gold rewards of their samples, KL to a reference along the samples.</summary>
[Collection(TorchCollection.Name)]
public sealed class GenerationEvaluationTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);

    private static readonly string[] Documents =
    [
        "The weather today is lovely and warm.", "My old car broke down again on the road.", "A good book and a cup of tea.",
        "Nothing works the way it should.", "We walked along the quiet beach at dawn.", "x",
    ];

    private static GenerationOptions Options(int seed = 7, int keep = 2) =>
        new(new SamplingOptions(MaxNewTokens: 6), [TextReward.Of(GoldRewards.Conciseness), TextReward.Of(GoldRewards.LexicalDiversity)], keep, seed);

    /// <summary>Σ over completion tokens of KL(p ‖ q) at the predicting position, computed one sequence at a time, unpadded.</summary>
    private static double DirectKl(Gpt2LanguageModel p, Gpt2LanguageModel q, int[] prompt, int[] completion)
    {
        using var noGrad = no_grad();
        p.eval();
        q.eval();
        using var input = tensor(prompt.Concat(completion).Select(t => (long)t).ToArray(), [1, prompt.Length + completion.Length]);
        using var lp = nn.functional.log_softmax(p.forward(input)[0], 1);
        using var lq = nn.functional.log_softmax(q.forward(input)[0], 1);
        double sum = 0;
        for (var t = 0; t < completion.Length; t++)
        {
            var position = prompt.Length + t - 1;
            sum += (lp[position].exp() * (lp[position] - lq[position])).sum().item<float>();
        }

        return sum;
    }

    [Fact]
    public void Score_RewardsAreTheMeanOverTheSampledCompletions_SameSeedSameDraws()
    {
        using var model = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 2);
        var prompts = GenerationEvaluation.Prompts(Documents, Tokenizer, 5, 4);

        var score = GenerationEvaluation.Score("lm", model, null, prompts, Tokenizer, Options());
        var again = GenerationEvaluation.Score("lm", model, null, prompts, Tokenizer, Options());

        // The same draws as sampling the prompts directly with a generator of the same seed.
        using var generator = new Generator(7);
        var texts = Gpt2Sampler.Sample(model, prompts, Tokenizer.EndOfText, new SamplingOptions(MaxNewTokens: 6), generator).Completions.Select(c => Tokenizer.Decode(c)).ToList();
        Assert.Equal(texts.Average(t => GoldRewards.Conciseness.Score(t)), score.Rewards[0].Mean, 9);
        Assert.Equal(texts.Average(t => GoldRewards.LexicalDiversity.Score(t)), score.Rewards[1].Mean, 9);
        Assert.Equal(["conciseness", "lexical-diversity"], score.Rewards.Select(r => r.Reward));
        Assert.Equal(
            score.Samples.Select(x => (x.Prompt, x.Completion, string.Join(",", x.Rewards))),
            again.Samples.Select(x => (x.Prompt, x.Completion, string.Join(",", x.Rewards))));
        Assert.Equal(2, score.Samples.Count);
        Assert.Equal((Tokenizer.Decode(prompts[0]), texts[0]), (score.Samples[0].Prompt, score.Samples[0].Completion));
        Assert.Null(score.KlToReference);
        Assert.InRange(score.MeanTokens, 1, 6);
    }

    [Fact]
    public void WholePrompts_EachDocumentWhole_EmptyOnesSkipped_NoneIsAnError()
    {
        var prompts = GenerationEvaluation.WholePrompts(["", "Write a short poem about the sea.", "Hi", "Third"], Tokenizer, 2);
        var none = Assert.Throws<InvalidDataException>(() => GenerationEvaluation.WholePrompts(["", ""], Tokenizer, 2));

        Assert.Equal(["Write a short poem about the sea.", "Hi"], prompts.Select(p => Tokenizer.Decode(p)));
        Assert.Equal("None of the 2 prompts has a token.", none.Message);
    }

    [Fact]
    public void Score_KlToItselfIsZero_ToAnotherModelPositive_AndAsComputedOneSequenceAtATime()
    {
        using var model = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 2);
        using var other = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 3);
        // Prompts of different lengths: the batch is right-padded, which must not change any term.
        var prompts = GenerationEvaluation.Prompts(Documents, Tokenizer, 5, 6);

        var self = GenerationEvaluation.Score("lm", model, model, prompts, Tokenizer, Options());
        var completions = Gpt2Sampler.Sample(model, prompts, Tokenizer.EndOfText, new SamplingOptions(MaxNewTokens: 6), new Generator(7)).Completions;
        var perSequence = GenerationEvaluation.SequenceKl(model, other, prompts, completions, Tokenizer.EndOfText);

        Assert.Equal(0, self.KlToReference!.Value, 4);
        for (var i = 0; i < prompts.Count; i++)
            Assert.Equal(DirectKl(model, other, prompts[i], completions[i]), perSequence[i], 3);
        Assert.All(perSequence, kl => Assert.True(kl > 0));
        Assert.Equal(perSequence.Average(), GenerationEvaluation.Score("lm", model, other, prompts, Tokenizer, Options()).KlToReference!.Value, 4);
    }

    [Fact]
    public void Score_CompletionThatStopped_CountsTheStopInItsKl()
    {
        using var model = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 2);
        Gpt2Models.ForceEndOfText(model); // every completion stops at once: empty, end-of-text chosen first
        using var other = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 3);
        var prompts = GenerationEvaluation.Prompts(Documents, Tokenizer, 3, 6);

        var score = GenerationEvaluation.Score("lm", model, other, prompts, Tokenizer, Options());

        Assert.Equal(0, score.MeanTokens);
        var expected = prompts.Average(p => DirectKl(model, other, p, [Tokenizer.EndOfText]));
        Assert.True(expected > 0);
        Assert.Equal(expected, score.KlToReference!.Value, 3);
    }

    [Fact]
    public async Task RunAsync_ScoresThePlannedCheckpoints_RefusesARewardModelAndAnUnknownReward()
    {
        using var a = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 4);
        using var rewardModel = Gpt2Models.RewardModel(Gpt2Config.Tiny);
        var curve = new RlCurve("conciseness", ["positivity"], [new RlCurvePoint(5, 0.5, 0.25, [0.125])]);
        var blobs = new Dictionary<string, Merging.Checkpoints.SafetensorsContent>
        {
            ["p/round-01/member-000/model.safetensors"] = new(TorchCheckpoint.ToTensorData(a), new Dictionary<string, string> { [RlCurve.MetadataKey] = System.Text.Json.JsonSerializer.Serialize(curve, Core.SoupJson.Compact.RlCurve) }),
            ["p/init/model.safetensors"] = new(TorchCheckpoint.ToTensorData(a), new Dictionary<string, string>()),
            ["p/round-01/member-001/model.safetensors"] = new(TorchCheckpoint.ToTensorData(rewardModel), new Dictionary<string, string>()),
        };
        Task<Merging.Checkpoints.SafetensorsContent> Read(string blob, CancellationToken _) => Task.FromResult(blobs[blob]);
        var plan = new GenerationPlan
        {
            Checkpoints = [0], Prompts = new DataRef { Dataset = "notes", Layout = DataLayouts.Text }, PromptCount = 3, MaxNewTokens = 4, Rewards = ["conciseness", "rm"],
            RewardModels = [new RewardModel { Name = "rm", Checkpoint = "p/round-01/member-001/model.safetensors", Model = "gpt2-tiny" }],
            Reference = "p/init/model.safetensors", Keep = 1,
        };
        string[] checkpoints = ["p/round-01/member-000/model.safetensors", "p/round-01/member-001/model.safetensors"];

        var scores = await GenerationEvaluation.RunAsync("gpt2-tiny", plan, checkpoints, Documents, Read, TestContext.Current.CancellationToken);
        var rewardModelError = await Assert.ThrowsAsync<InvalidDataException>(() => GenerationEvaluation.RunAsync("gpt2-tiny", plan with { Checkpoints = [1] }, checkpoints, Documents, Read, TestContext.Current.CancellationToken));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => GenerationEvaluation.RunAsync("gpt2-tiny", plan with { Rewards = ["kindness"] }, checkpoints, Documents, Read, TestContext.Current.CancellationToken));
        var outOfRange = await Assert.ThrowsAsync<ArgumentException>(() => GenerationEvaluation.RunAsync("gpt2-tiny", plan with { Checkpoints = [2] }, checkpoints, Documents, Read, TestContext.Current.CancellationToken));

        var score = Assert.Single(scores);
        Assert.Equal(checkpoints[0], score.Checkpoint);
        Assert.Equal(0, score.KlToReference!.Value, 4); // the member is its init here
        var sample = Assert.Single(score.Samples);
        Assert.Equal(["conciseness", "rm"], score.Rewards.Select(r => r.Reward));
        using (var scorer = RewardModelScorer.Load("rm", "gpt2-tiny", TorchCheckpoint.ToTensorData(rewardModel), "rm"))
            Assert.Equal(Assert.Single(scorer.Score([sample.Prompt], [sample.Completion])), sample.Rewards[1], 5); // the reward model read prompt + completion
        Assert.Equal(curve.Points, score.Training!.Points, (x, y) => x.Step == y.Step && x.Reward == y.Reward && x.Tracked.SequenceEqual(y.Tracked));
        Assert.Equal(("conciseness", "positivity"), (score.Training.Reward, Assert.Single(score.Training.Tracked)));
        Assert.StartsWith("p/round-01/member-001/model.safetensors: it has 'score.weight'", rewardModelError.Message, StringComparison.Ordinal);
        Assert.Contains("kindness", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("indices into the job's 2 checkpoints", outOfRange.Message, StringComparison.Ordinal);
    }
}
