using System.Globalization;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>How <see cref="Rloo"/> fine-tunes a policy.</summary>
/// <param name="Samples">Completions per prompt (k ≥ 2): each one's baseline is the mean reward of the other k − 1.</param>
/// <param name="KlCoefficient">β: the reward is r − β·KL(policy ‖ anchor) of the completion.</param>
/// <param name="Sampling">How completions are sampled (the policy's own distribution: temperature 1, no top-k/top-p, for an unbiased gradient).</param>
/// <param name="AnchorDecay">
/// WARP's exponential moving average anchor: after each step the anchor becomes decay·anchor + (1 − decay)·policy.
/// Null: the anchor stays where it started (the init: classic KL-regularised RLHF).
/// </param>
/// <param name="MicroBatch">
/// Sequences per forward pass: a step with more scores them in micro-batches and accumulates their gradients, so memory
/// stays bounded on a GPU (the logits of a batch are sequences × length × 50,257 floats).
/// </param>
public sealed record RlooOptions(int Samples, double KlCoefficient, SamplingOptions Sampling, double? AnchorDecay = null, int MicroBatch = 16)
{
    /// <summary>Throws when an option is out of range, naming it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Sampling);
        Sampling.Validate();
        if (Samples < 2)
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, "RLOO needs at least 2 completions per prompt (each one's baseline is the others' mean).");
        if (!(KlCoefficient >= 0) || double.IsInfinity(KlCoefficient))
            throw new ArgumentOutOfRangeException(nameof(KlCoefficient), KlCoefficient, "The KL coefficient must be finite and at least 0.");
        if (MicroBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(MicroBatch), MicroBatch, "A micro-batch holds at least one sequence.");
        if (AnchorDecay is { } decay && !(decay >= 0 && decay < 1))
            throw new ArgumentOutOfRangeException(nameof(AnchorDecay), decay, "The anchor's decay must be in [0, 1).");
    }
}

/// <summary>What one RLOO step measured (means over its completions).</summary>
/// <param name="Step">The 1-based step.</param>
/// <param name="Reward">Mean reward r of the completions.</param>
/// <param name="Kl">
/// Mean KL(policy ‖ anchor) of the completions as RLOO estimates it: Σ over their tokens of log π − log π_anchor (nats);
/// unbiased over many samples, and on one small batch of either sign.
/// </param>
/// <param name="Objective">Mean regularised reward r − β·KL.</param>
/// <param name="Loss">The policy-gradient loss that was minimised.</param>
/// <param name="Tokens">Completion tokens sampled (with each stop token).</param>
/// <param name="Tracked">
/// The mean of each tracked reward over the same completions (measured, not optimised: e.g. the gold reward a reward
/// model stands for, whose course against the optimised reward shows reward hacking); empty when none is tracked.
/// </param>
public sealed record RlooStep(int Step, double Reward, double Kl, double Objective, double Loss, long Tokens, IReadOnlyList<double> Tracked)
{
    /// <summary>Creates a step with no tracked rewards.</summary>
    public RlooStep(int step, double reward, double kl, double objective, double loss, long tokens)
        : this(step, reward, kl, objective, loss, tokens, [])
    {
    }
}

/// <summary>
/// REINFORCE with a leave-one-out baseline (RLOO; Ahmadian et al., 2024) for a GPT-2 policy: k completions per prompt
/// sampled on-policy, each scored by a reward minus β times its KL to an anchor (the sequence-level estimate
/// log π(y) − log π_anchor(y) on the sampled tokens), each completion's advantage its regularised reward minus the mean
/// of the other k − 1 of its prompt, and the loss −mean(advantage · log π(y)). A completion that ended at end-of-text
/// includes that token as its last action. The anchor is the init or, as WARP does, an exponential moving average of
/// the policy.
/// </summary>
public static class Rloo
{
    /// <summary>Each completion's advantage: its reward minus the mean reward of the other completions of its prompt.</summary>
    /// <param name="rewards">Rewards grouped by prompt: the <paramref name="samples"/> completions of prompt 0, then of prompt 1, ...</param>
    /// <param name="samples">Completions per prompt (at least 2).</param>
    public static double[] LeaveOneOut(IReadOnlyList<double> rewards, int samples)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 2);
        if (rewards.Count % samples != 0)
            throw new ArgumentException($"{rewards.Count} rewards are not whole groups of {samples}.", nameof(rewards));
        var advantages = new double[rewards.Count];
        for (var start = 0; start < rewards.Count; start += samples)
        {
            double sum = 0;
            for (var i = 0; i < samples; i++)
                sum += rewards[start + i];
            for (var i = 0; i < samples; i++)
                advantages[start + i] = rewards[start + i] - ((sum - rewards[start + i]) / (samples - 1));
        }

        return advantages;
    }

    /// <summary>
    /// One on-policy step: samples, scores, and updates <paramref name="policy"/> with <paramref name="optimizer"/>; then
    /// moves the anchor toward the policy when <see cref="RlooOptions.AnchorDecay"/> is set.
    /// </summary>
    /// <param name="track">Rewards measured on the same completions, not optimised (null: none).</param>
    /// <exception cref="TrainingDivergedException">A reward, the KL or the loss is not finite; the message names the step.</exception>
    public static RlooStep Step(
        int step, Gpt2LanguageModel policy, Gpt2LanguageModel anchor, IReadOnlyList<int[]> prompts, TextReward reward, TextTokenizer tokenizer,
        RlooOptions options, optim.Optimizer optimizer, Generator generator, IReadOnlyList<TextReward>? track = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(anchor);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(optimizer);
        options.Validate();
        var repeated = Gpt2Sampler.Fit(prompts, policy.Config, options.Sampling.MaxNewTokens, tokenizer.EndOfText).Prompts
            .SelectMany(p => Enumerable.Repeat(p, options.Samples)).ToList();
        var completions = Gpt2Sampler.Sample(policy, repeated, tokenizer.EndOfText, options.Sampling, generator).Completions;
        var actions = GenerationEvaluation.Actions(completions, options.Sampling, tokenizer.EndOfText);
        var (promptTexts, completionTexts) = (repeated.Select(p => tokenizer.Decode(p)).ToList(), completions.Select(c => tokenizer.Decode(c)).ToList());
        var rewards = reward.Score(promptTexts, completionTexts);
        if (rewards.FirstOrDefault(r => !double.IsFinite(r), 0) is var bad && !double.IsFinite(bad))
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture, $"RL step {step}: a reward is {bad}."));
        var tracked = (track ?? []).Select(t => t.Score(promptTexts, completionTexts).Average()).ToArray();
        if (Array.FindIndex(tracked, t => !double.IsFinite(t)) is var nan and >= 0)
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture, $"RL step {step}: tracked reward '{track![nan].Name}' is {tracked[nan]}."));

        var wasTraining = policy.training;
        policy.train();
        anchor.eval();
        try
        {
            var count = repeated.Count;
            var size = options.MicroBatch;
            var chunks = Enumerable.Range(0, (count + size - 1) / size).Select(c => (Start: c * size, Length: Math.Min(size, count - (c * size)))).ToList();
            (Tensor Ids, Tensor Targets, Tensor Mask) Pack((int Start, int Length) chunk) =>
                GenerationEvaluation.Pack(repeated.GetRange(chunk.Start, chunk.Length), actions.GetRange(chunk.Start, chunk.Length), tokenizer.EndOfText);

            // The KL enters every advantage, so all log-probabilities come first: in one pass with gradients when the
            // step fits one micro-batch, else without gradients chunk by chunk, and again with them below.
            var logPolicy = new double[count];
            var logAnchor = new double[count];
            Tensor? single = null;
            using var scope = NewDisposeScope();
            foreach (var chunk in chunks)
            {
                using var chunkScope = NewDisposeScope();
                var (ids, targets, mask) = Pack(chunk);
                Tensor policyLog;
                if (chunks.Count == 1)
                {
                    policyLog = SequenceLogProbabilities(policy, ids, targets, mask);
                    single = policyLog.MoveToOuterDisposeScope();
                }
                else
                {
                    using (no_grad())
                        policyLog = SequenceLogProbabilities(policy, ids, targets, mask);
                }

                using (no_grad())
                    SequenceLogProbabilities(anchor, ids, targets, mask).to(float64).cpu().data<double>().ToArray().CopyTo(logAnchor, chunk.Start);
                policyLog.detach().to(float64).cpu().data<double>().ToArray().CopyTo(logPolicy, chunk.Start);
            }

            var kl = logPolicy.Select((lp, i) => lp - logAnchor[i]).ToArray();
            var regularised = rewards.Select((r, i) => r - (options.KlCoefficient * kl[i])).ToArray();
            var advantages = LeaveOneOut(regularised, options.Samples).Select(a => (float)a).ToArray();
            optimizer.zero_grad();
            float lossValue;
            if (single is not null)
            {
                var loss = -(tensor(advantages, device: single.device) * single).mean();
                lossValue = loss.item<float>();
                ThrowIfDiverged(step, lossValue, kl);
                loss.backward();
            }
            else
            {
                // Micro-batches: each chunk's share of −mean(advantage · log π), its gradients accumulated.
                lossValue = (float)(-advantages.Select((a, i) => a * logPolicy[i]).Sum() / count);
                ThrowIfDiverged(step, lossValue, kl);
                foreach (var chunk in chunks)
                {
                    using var chunkScope = NewDisposeScope();
                    var (ids, targets, mask) = Pack(chunk);
                    var logs = SequenceLogProbabilities(policy, ids, targets, mask);
                    var part = -(tensor(advantages[chunk.Start..(chunk.Start + chunk.Length)], device: logs.device) * logs).sum() / count;
                    part.backward();
                }
            }

            optimizer.step();
            if (options.AnchorDecay is { } decay)
                MoveAnchor(anchor, policy, decay);
            return new RlooStep(step, rewards.Average(), kl.Average(), regularised.Average(), lossValue, actions.Sum(a => (long)a.Length), tracked);
        }
        finally
        {
            policy.train(wasTraining);
        }
    }

    private static void ThrowIfDiverged(int step, float loss, double[] kl)
    {
        if (!float.IsFinite(loss) || kl.Any(k => !double.IsFinite(k)))
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture, $"RL step {step}: loss {loss}, mean KL {kl.Average()}."));
    }

    /// <summary>WARP's anchor update: every anchor parameter becomes decay·anchor + (1 − decay)·policy.</summary>
    public static void MoveAnchor(Gpt2LanguageModel anchor, Gpt2LanguageModel policy, double decay)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        ArgumentNullException.ThrowIfNull(policy);
        using var noGrad = no_grad();
        var live = policy.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in anchor.named_parameters())
            parameter.mul_(decay).add_(live[name], alpha: 1 - decay);
    }

    /// <summary>Σ over the masked positions of log model(target | prefix), per row [B], on the model's device.</summary>
    private static Tensor SequenceLogProbabilities(Gpt2LanguageModel model, Tensor ids, Tensor targets, Tensor mask)
    {
        var log = nn.functional.log_softmax(model.forward(ids).to(float32), 2);
        var chosen = log.gather(2, targets.to(log.device).unsqueeze(2)).squeeze(2);
        return (chosen * mask.to(log.device)).sum(1);
    }
}
