using System.Diagnostics;
using Soup.Core.Jobs;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>How <see cref="RlFineTuner"/> runs.</summary>
/// <param name="Steps">RLOO steps.</param>
/// <param name="PromptsPerStep">Prompts drawn for each step (each sampled <see cref="RlooOptions.Samples"/> times).</param>
/// <param name="LearningRate">AdamW's learning rate (no weight decay).</param>
/// <param name="Seed">Seeds the prompts of each step and its draws: step s's randomness is a function of (seed, s) alone.</param>
/// <param name="Rloo">The RLOO settings (samples, β, sampling, anchor).</param>
/// <param name="CheckpointEvery">Steps between resumption checkpoints (0: none).</param>
public sealed record RlSettings(int Steps, int PromptsPerStep, double LearningRate, int Seed, RlooOptions Rloo, int CheckpointEvery = 0);

/// <summary>What an RL fine-tuning made: the policy's weights, every step's measures (from step 1, across resumptions) and the throughput.</summary>
public sealed record RlResult(IReadOnlyList<TensorData> Weights, IReadOnlyList<RlooStep> History, double TokensPerSecond);

/// <summary>
/// RL fine-tuning of a GPT-2 policy with <see cref="Rloo"/>: on-policy steps over prompts drawn from a fixed set,
/// resumable bit-identically on the CPU from a <see cref="TrainingState"/> holding the policy (<c>model.*</c>), the
/// anchor (<c>anchor.*</c>), AdamW's state (<c>optimizer.*</c>) and the steps' measures so far (<c>history</c>): each
/// step's prompts and draws are derived from the seed and the step, so nothing else needs saving.
/// </summary>
public static class RlFineTuner
{
    /// <summary>Runs the steps after <paramref name="resume"/>'s (or all of them).</summary>
    /// <param name="config">The policy's size.</param>
    /// <param name="init">The policy's starting weights (the anchor's too, unless <paramref name="anchorInit"/>).</param>
    /// <param name="anchorInit">The anchor's starting weights (null: <paramref name="init"/>).</param>
    /// <param name="prompts">The prompts steps draw from.</param>
    /// <param name="reward">The reward of a completion (a gold reward, a reward model or a weighted sum).</param>
    /// <param name="settings">How to run.</param>
    /// <param name="resume">A state from an earlier run of the same settings, or null.</param>
    /// <param name="observer">Hears progress and checkpoints.</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <param name="track">Rewards measured on every step's completions, not optimised (null: none).</param>
    /// <exception cref="TrainingDivergedException">A reward, KL or loss is not finite; the message names the step.</exception>
    public static RlResult Run(
        Gpt2Config config, IReadOnlyList<TensorData> init, IReadOnlyList<TensorData>? anchorInit, IReadOnlyList<int[]> prompts, TextReward reward,
        RlSettings settings, TrainingState? resume = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default,
        IReadOnlyList<TextReward>? track = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(init);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Rloo.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.PromptsPerStep, 1);
        if (prompts.Count == 0)
            throw new ArgumentException("No prompts to sample from.", nameof(prompts));
        TorchSetup.Initialize();
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        using var policy = new Gpt2LanguageModel(config);
        using var anchor = new Gpt2LanguageModel(config);
        Gpt2Checkpoint.Load(policy, init, "policy init");
        Gpt2Checkpoint.Load(anchor, anchorInit ?? init, "anchor init");
        var device = TorchDevice.Preferred();
        policy.to(device);
        anchor.to(device);
        var named = policy.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = OptimizerFactory.Create(
            new TrainSettings { Optimizer = Optimizers.AdamW, LearningRate = settings.LearningRate, WeightDecay = 0 }, named.Select(p => p.parameter));
        var start = 0;
        var history = new List<RlooStep>();
        if (resume is not null)
        {
            var reader = new StateReader(resume, "RL resumption state");
            using (no_grad())
            {
                foreach (var (name, parameter) in named)
                    reader.CopyInto("model." + name, parameter);
                foreach (var (name, parameter) in anchor.named_parameters())
                    reader.CopyInto("anchor." + name, parameter);
            }

            OptimizerFactory.Load(optimizer, named, reader, "optimizer.");
            if (reader.Has(HistoryTensor))
                history.AddRange(ReadHistory(reader, track?.Count ?? 0));
            reader.ThrowIfUnread();
            start = resume.Step;
        }

        var clock = Stopwatch.StartNew();
        long tokens = 0;
        for (var step = start + 1; step <= settings.Steps; step++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (step - 1 > start)
                    observer?.Checkpoint(Capture(step - 1, policy, anchor, optimizer, named, history));
                cancellationToken.ThrowIfCancellationRequested();
            }

            using var generator = new Generator(unchecked((ulong)StreamSeed.Of(settings.Seed, StreamSeed.RlSampling, step)));
            var measured = Rloo.Step(step, policy, anchor, Draw(prompts, settings, step), reward, tokenizer, settings.Rloo, optimizer, generator, track);
            history.Add(measured);
            tokens += measured.Tokens;
            if (step == settings.Steps || step % Math.Max(1, settings.Steps / 10) == 0)
                observer?.Progress(new TrainingProgress(step, settings.Steps, -measured.Objective, tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds), "tokens")
                {
                    Reward = measured.Reward,
                    Kl = measured.Kl,
                });
            if (settings.CheckpointEvery > 0 && step % settings.CheckpointEvery == 0 && step < settings.Steps && observer?.WantsCheckpoint(step) == true)
                observer?.Checkpoint(Capture(step, policy, anchor, optimizer, named, history));
        }

        return new RlResult(TorchCheckpoint.ToTensorData(policy), history, tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
    }

    /// <summary>Step <paramref name="step"/>'s prompts: drawn without replacement by a generator of (seed, step).</summary>
    private static List<int[]> Draw(IReadOnlyList<int[]> prompts, RlSettings settings, int step)
    {
        var order = Enumerable.Range(0, prompts.Count).ToArray();
        Data.SeededShuffle.Shuffle(order, new Random(StreamSeed.Of(settings.Seed, StreamSeed.Shuffle, step)));
        return [.. order.Take(Math.Min(settings.PromptsPerStep, prompts.Count)).Select(i => prompts[i])];
    }

    /// <summary>The state tensor of the steps' measures: [steps, 6 + tracked] float64 (step, reward, KL, objective, loss, tokens, tracked...).</summary>
    private const string HistoryTensor = "history";

    private static TrainingState Capture(
        int step, Gpt2LanguageModel policy, Gpt2LanguageModel anchor, TorchSharp.Modules.OptimizerHelper optimizer,
        IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> named, IReadOnlyList<RlooStep> history)
    {
        var tensors = new List<TensorData>();
        tensors.AddRange(named.Select(p => StateTensors.ToData("model." + p.Name, p.Parameter)));
        tensors.AddRange(anchor.named_parameters().Select(p => StateTensors.ToData("anchor." + p.name, p.parameter)));
        tensors.AddRange(OptimizerFactory.Save(optimizer, named, "optimizer."));
        var columns = 6 + (history.Count > 0 ? history[0].Tracked.Count : 0);
        var rows = history.SelectMany(h => new double[] { h.Step, h.Reward, h.Kl, h.Objective, h.Loss, h.Tokens }.Concat(h.Tracked)).ToArray();
        using (var table = tensor(rows, [history.Count, columns]))
            tensors.Add(StateTensors.ToData(HistoryTensor, table));
        return new TrainingState(step, tensors);
    }

    private static IEnumerable<RlooStep> ReadHistory(StateReader reader, int tracked)
    {
        using var table = reader.Read(HistoryTensor);
        if (table.dim() != 2 || (table.shape[0] > 0 && table.shape[1] != 6 + tracked))
            throw new InvalidDataException($"RL resumption state: tensor '{HistoryTensor}' is [{string.Join(", ", table.shape)}], the run expects [steps, {6 + tracked}].");
        var values = table.to(ScalarType.Float64).data<double>().ToArray();
        var width = 6 + tracked;
        for (var row = 0; row < table.shape[0]; row++)
        {
            var r = values.AsSpan(row * width, width);
            yield return new RlooStep((int)r[0], r[1], r[2], r[3], r[4], (long)r[5], r[6..].ToArray());
        }
    }
}
