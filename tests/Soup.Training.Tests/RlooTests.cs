using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>RLOO: leave-one-out advantages, the KL to the anchor, WARP's moving anchor, a reward that goes up, and a NaN that stops the run.</summary>
[Collection(TorchCollection.Name)]
public sealed class RlooTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);

    private static List<int[]> Prompts() => [.. new[] { "a b", "c d", "b a", "d c" }.Select(Tokenizer.Encode)];

    private static RlooOptions Options(double beta = 0, double? decay = null) => new(4, beta, new SamplingOptions(MaxNewTokens: 6), decay);

    /// <summary>The share of a completion's characters that are 'a'.</summary>
    private static double LetterShare(string text) => text.Length == 0 ? 0 : text.Count(c => c == 'a') / (double)text.Length;

    private static readonly TextReward Letters = new("letters", (_, completions) => [.. completions.Select(LetterShare)]);

    /// <summary>
    /// A policy that writes (almost) only the letters a, b, c and d, each about as likely: the final norm outputs a
    /// constant vector v plus a little of the context, the four letters' embeddings are 20/|v|²·v plus a little noise and every
    /// other token's is zero. A reward over them is then learnable in a few steps (over GPT-2's 50,257 tokens each is
    /// sampled too rarely to learn from).
    /// </summary>
    private static Gpt2LanguageModel FourLetters(ulong seed)
    {
        using var init = new Generator(seed);
        var model = new Gpt2LanguageModel(Gpt2Models.Small, initGenerator: init);
        using var noGrad = no_grad();
        var width = Gpt2Models.Small.Width;
        var v = ones(width);
        var state = model.state_dict();
        state["transformer.ln_f.weight"].fill_(0.1);
        state["transformer.ln_f.bias"].copy_(v);
        var embedding = model.Backbone.TokenEmbedding;
        embedding.zero_();
        foreach (var letter in new[] { "a", "b", "c", "d" })
            embedding[Tokenizer.Encode(letter)[0]] = (v * (20.0 / width)) + (randn(width, generator: init) * 0.05);
        return model;
    }

    private static Gpt2LanguageModel Copy(Gpt2LanguageModel model)
    {
        var copy = new Gpt2LanguageModel(model.Config);
        Gpt2Checkpoint.Load(copy, TorchCheckpoint.ToTensorData(model), "copy");
        return copy;
    }

    private static double MeanReward(Gpt2LanguageModel policy, Func<string, double> reward)
    {
        using var generator = new Generator(99);
        var prompts = Prompts().SelectMany(p => Enumerable.Repeat(p, 16)).ToList();
        return Gpt2Sampler.Sample(policy, prompts, Tokenizer.EndOfText, new SamplingOptions(MaxNewTokens: 6), generator).Completions.Average(c => reward(Tokenizer.Decode(c)));
    }

    [Fact]
    public void LeaveOneOut_EachRewardMinusTheMeanOfTheOthersOfItsPrompt()
    {
        Assert.Equal([-1.5, 0, 1.5, 0, 0, 0], Rloo.LeaveOneOut([1, 2, 3, 4, 4, 4], 3));
        Assert.Throws<ArgumentException>(() => Rloo.LeaveOneOut([1, 2, 3], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rloo.LeaveOneOut([1, 2], 1));
    }

    [Fact]
    public void Steps_RaiseTheReward_TheFirstStepsKlToAnIdenticalAnchorIsZero()
    {
        using var policy = FourLetters(5);
        using var anchor = Copy(policy);
        using var generator = new Generator(3);
        using var optimizer = optim.Adam(policy.parameters(), lr: 3e-3);
        var before = MeanReward(policy, LetterShare);

        var steps = Enumerable.Range(1, 20).Select(s => Rloo.Step(s, policy, anchor, Prompts(), Letters, Tokenizer, Options(beta: 0.01), optimizer, generator)).ToList();

        var after = MeanReward(policy, LetterShare);
        Assert.Equal(0, steps[0].Kl, 3); // the policy is its anchor until the first update
        Assert.True(steps[^1].Kl > steps[0].Kl, $"KL {steps[0].Kl} → {steps[^1].Kl}");
        Assert.True(after > before + 0.2, $"mean reward {before:F3} → {after:F3}");
        Assert.Equal(steps[^1].Reward - (0.01 * steps[^1].Kl), steps[^1].Objective, 6);
        Assert.All(steps, s => Assert.InRange(s.Tokens, 16, 16 * 7));
    }

    [Fact]
    public void MoveAnchor_IsTheExponentialMovingAverageOfThePolicy()
    {
        using var policy = Gpt2Models.LanguageModel(seed: 6);
        using var anchor = Gpt2Models.LanguageModel(seed: 7);
        var (p, a) = (TorchCheckpoint.ToTensorData(policy), TorchCheckpoint.ToTensorData(anchor));

        Rloo.MoveAnchor(anchor, policy, 0.75);

        var moved = TorchCheckpoint.ToTensorData(anchor);
        for (var index = 0; index < moved.Count; index++)
        {
            var (x, y, z) = (ModelTensors.Floats(a[index]), ModelTensors.Floats(p[index]), ModelTensors.Floats(moved[index]));
            for (var i = 0; i < z.Length; i += Math.Max(1, z.Length / 50))
                Assert.Equal((0.75f * x[i]) + (0.25f * y[i]), z[i], 5);
        }
    }

    [Fact]
    public void Step_NanReward_StopsNamingTheStep_AndLeavesThePolicyAsItWas()
    {
        using var policy = Gpt2Models.LanguageModel(seed: 5);
        using var anchor = Copy(policy);
        using var optimizer = optim.Adam(policy.parameters(), lr: 3e-3);
        var weights = TorchCheckpoint.ToTensorData(policy);

        var error = Assert.Throws<TrainingDivergedException>(() =>
            Rloo.Step(3, policy, anchor, Prompts(), new TextReward("nan", (_, c) => [.. c.Select(_ => double.NaN)]), Tokenizer, Options(), optimizer, new Generator(1)));

        Assert.Equal("RL step 3: a reward is NaN.", error.Message);
        Assert.Equal(weights.Select(t => ModelTensors.Floats(t).Sum()), TorchCheckpoint.ToTensorData(policy).Select(t => ModelTensors.Floats(t).Sum()));
    }

    [Fact]
    public void RlFineTuner_ResumedFromAMidRunState_EndsBitIdenticalToAnUninterruptedRun_WithAMovingAnchor_AndTheWholeHistory()
    {
        using var start = FourLetters(8);
        var init = TorchCheckpoint.ToTensorData(start);
        var settings = new RlSettings(Steps: 4, PromptsPerStep: 2, LearningRate: 3e-3, Seed: 11, Options(beta: 0.05, decay: 0.9), CheckpointEvery: 2);
        var states = new Recorder();
        TextReward[] track = [TextReward.Of(GoldRewards.LexicalDiversity), new("length", (_, c) => [.. c.Select(x => (double)x.Length)])];

        var whole = RlFineTuner.Run(Gpt2Models.Small, init, null, Prompts(), Letters, settings, observer: states, cancellationToken: TestContext.Current.CancellationToken, track: track);
        var state = Assert.Single(states.States);
        var resumed = RlFineTuner.Run(Gpt2Models.Small, init, null, Prompts(), Letters, settings, state, cancellationToken: TestContext.Current.CancellationToken, track: track);

        Assert.Equal(2, state.Step);
        Assert.Contains(state.Tensors, t => t.Name.StartsWith("anchor.", StringComparison.Ordinal));
        Assert.Contains(state.Tensors, t => t.Name.StartsWith("optimizer.", StringComparison.Ordinal));
        // The resumed run reports every step, the first two from the state, with the tracked rewards of each.
        Assert.Equal(
            whole.History.Select(h => (h.Step, h.Reward, h.Kl, h.Loss, h.Tokens, string.Join(",", h.Tracked))),
            resumed.History.Select(h => (h.Step, h.Reward, h.Kl, h.Loss, h.Tokens, string.Join(",", h.Tracked))));
        Assert.All(whole.History, h => Assert.Equal(2, h.Tracked.Count));
        var last = states.Reports[^1]; // progress.json carries the step's reward and KL
        Assert.Equal((4, whole.History[^1].Reward, whole.History[^1].Kl, "tokens"), (last.Step, last.Reward!.Value, last.Kl!.Value, last.Unit));
        Assert.Contains(whole.History, h => h.Tracked[1] > 0);
        for (var i = 0; i < whole.Weights.Count; i++)
            Assert.Equal(whole.Weights[i].Data.ToArray(), resumed.Weights[i].Data.ToArray());
        Assert.Equal([1, 2, 3, 4], whole.History.Select(h => h.Step));
        Assert.True(whole.TokensPerSecond > 0);
    }

    [Fact]
    public void Step_TrackedRewards_AreMeasuredOnTheSameCompletions_WithoutChangingTheUpdate()
    {
        using var policy = FourLetters(5);
        using var twin = Copy(policy);
        using var anchor = Copy(policy);
        using var optimizer = optim.Adam(policy.parameters(), lr: 3e-3);
        using var twinOptimizer = optim.Adam(twin.parameters(), lr: 3e-3);
        var seen = new List<string>();
        var spy = new TextReward("spy", (_, completions) =>
        {
            seen.AddRange(completions);
            return [.. completions.Select(LetterShare)];
        });

        var tracked = Rloo.Step(1, policy, anchor, Prompts(), Letters, Tokenizer, Options(), optimizer, new Generator(9), [spy]);
        var plain = Rloo.Step(1, twin, anchor, Prompts(), Letters, Tokenizer, Options(), twinOptimizer, new Generator(9));

        Assert.Equal(tracked.Reward, Assert.Single(tracked.Tracked), 12); // the same reward on the same completions
        Assert.Equal(Prompts().Count * Options().Samples, seen.Count);
        Assert.Equal((plain.Reward, plain.Loss), (tracked.Reward, tracked.Loss));
        Assert.Empty(plain.Tracked);
        var nan = Assert.Throws<TrainingDivergedException>(() =>
            Rloo.Step(2, policy, anchor, Prompts(), Letters, Tokenizer, Options(), optimizer, new Generator(9), [new TextReward("broken", (_, c) => [.. c.Select(_ => double.NaN)])]));
        Assert.Equal("RL step 2: tracked reward 'broken' is NaN.", nan.Message);
    }

    [Fact]
    public void Step_InMicroBatches_MeasuresAndUpdatesAsOnePass()
    {
        using var whole = FourLetters(6);
        using var chunked = Copy(whole);
        using var anchor = Copy(whole);
        // SGD: its update is the gradient itself (Adam's would hide a gradient off by a constant factor).
        using var wholeOptimizer = optim.SGD(whole.parameters(), 0.5);
        using var chunkedOptimizer = optim.SGD(chunked.parameters(), 0.5);

        var one = Rloo.Step(1, whole, anchor, Prompts(), Letters, Tokenizer, Options(beta: 0.1), wholeOptimizer, new Generator(4));
        var parts = Rloo.Step(1, chunked, anchor, Prompts(), Letters, Tokenizer, Options(beta: 0.1) with { MicroBatch = 3 }, chunkedOptimizer, new Generator(4));

        Assert.Equal((one.Reward, one.Tokens), (parts.Reward, parts.Tokens)); // the same completions
        Assert.Equal(one.Kl, parts.Kl, 5);
        Assert.Equal(one.Loss, parts.Loss, 5);
        var (a, b) = (TorchCheckpoint.ToTensorData(whole), TorchCheckpoint.ToTensorData(chunked));
        for (var t = 0; t < a.Count; t++)
        {
            var (x, y) = (ModelTensors.Floats(a[t]), ModelTensors.Floats(b[t]));
            for (var i = 0; i < x.Length; i += Math.Max(1, x.Length / 200))
                Assert.Equal(x[i], y[i], 4);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => (Options() with { MicroBatch = 0 }).Validate());
    }

        private sealed class Recorder : ITrainingObserver
    {
        public List<TrainingState> States { get; } = [];

        public List<TrainingProgress> Reports { get; } = [];

        public void Progress(TrainingProgress progress) => Reports.Add(progress);

        public void Checkpoint(TrainingState state) => States.Add(state);
    }
}
