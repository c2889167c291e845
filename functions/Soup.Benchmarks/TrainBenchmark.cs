using System.Diagnostics;
using System.Globalization;
using Soup.Core.Jobs;
using Soup.Training;

using Soup.Merging;

using Soup.Merging.Engine;
using Soup.Training.Checkpoints;
using Soup.Training.Data;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;
using Soup.Core.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Benchmarks;

/// <summary>The options of <c>pipeline bench train</c>.</summary>
/// <param name="Corpus">The text corpus language models train on (Debian's fortunes by default).</param>
public sealed record TrainBenchmarkOptions(IReadOnlyList<string> Models, int BatchSize, int Steps, int Repeats, string DataRoot, string Corpus = "/usr/share/games/fortunes");

/// <summary>
/// <c>pipeline bench train</c>: images per second of a fine-tuning run through the whole training path (rotated
/// Fashion-MNIST decoded in memory, seeded batches prepared while the previous step runs, progress and resumption
/// checkpoints kept in memory) next to a bare TorchSharp step loop of the same model on one in-memory batch, in the same
/// process, alternating, medians of the repeats.
/// </summary>
public static class TrainBenchmark
{
    /// <summary>Runs the benchmark and prints its table.</summary>
    public static int Execute(TrainBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        TorchSetup.Initialize();
        var text = options.Models.Where(m => SpecLimits.TextModels.Contains(m)).ToList();
        var images = options.Models.Except(text).ToList();
        if (images.Count > 0)
            ImageModels(options with { Models = images }, output, cancellationToken);
        if (text.Count > 0)
            TextModels(options with { Models = text }, output, cancellationToken);
        return 0;
    }

    private static void ImageModels(TrainBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        using var data = LoadData(options.DataRoot, output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training throughput on {Environment.ProcessorCount} CPU thread(s) (torch: {TorchSetup.ThreadCount}), batch {options.BatchSize}, {options.Steps} steps per run, {options.Repeats} repeat(s), medians"));
        output.WriteLine();
        output.WriteLine("| model | bare loop (img/s) | full path (img/s) | full / bare | full path incl. set-up and checkpoints (img/s) |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var model in options.Models)
        {
            var bare = new List<double>();
            var full = new List<double>();
            var wall = new List<double>();
            // One warm-up of each, untimed, so the first timed run does not pay for JIT and allocator growth.
            _ = TrainingBenchmark.BareLoop(model, data.Shape, options.BatchSize, Math.Min(20, options.Steps));
            _ = FullRun(model, data, options, 20, seed: 99, cancellationToken);
            for (var repeat = 0; repeat < options.Repeats; repeat++)
            {
                bare.Add(TrainingBenchmark.BareLoop(model, data.Shape, options.BatchSize, options.Steps, seed: repeat));
                var clock = Stopwatch.StartNew();
                full.Add(FullRun(model, data, options, options.Steps, repeat, cancellationToken));
                wall.Add(options.Steps * (double)options.BatchSize / clock.Elapsed.TotalSeconds);
            }

            var b = BenchStatistics.Median(bare);
            var f = BenchStatistics.Median(full);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {model} | {b:F0} | {f:F0} | {f / b:F2}x | {BenchStatistics.Median(wall):F0} |"));
        }

        output.WriteLine();
        output.WriteLine("bare loop: SGD steps on one random batch already in memory, no data pipeline. full path: FineTuner.Run with the");
        output.WriteLine("rotated data set (seeded batch sampling, next batch prepared during the step), periodic resumption checkpoints");
        output.WriteLine("serialised in memory and progress reports; its img/s counts the steps only, the last column the whole call.");
    }

    /// <summary>
    /// GPT-2 language models: tokens/s of training through <see cref="FineTuner"/> on the text corpus (blocks of the
    /// model's context, AdamW) next to the bare step loop on one random batch; and of sampling through
    /// <see cref="Gpt2Sampler"/> (greedy, and temperature 1 with top-k 50 and top-p 0.95) next to a bare greedy
    /// key/value-cache loop, same model, same prompts.
    /// </summary>
    private static void TextModels(TrainBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        var corpus = TextCorpus.Read(options.Corpus).Split(0.2, 0);
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Language models on {Environment.ProcessorCount} CPU thread(s), corpus {options.Corpus} ({corpus.Train.Count:N0} training documents), batch {options.BatchSize} blocks of the context, {options.Steps} steps per run, {options.Repeats} repeat(s), medians"));
        output.WriteLine();
        output.WriteLine("| model | what | bare loop (tokens/s) | full path (tokens/s) | full / bare |");
        output.WriteLine("|---|---|---:|---:|---:|");
        foreach (var model in options.Models)
        {
            var config = LanguageModelling.Config(model);
            using var objective = new LanguageModelling(TokenBlocks.Pack(corpus.Train, tokenizer, config.Context));
            var settings = new TrainSettings { Optimizer = Optimizers.AdamW, Steps = options.Steps, BatchSize = options.BatchSize, LearningRate = 1e-3 };
            double Full(int seed) => FineTuner.Run(new FineTuneOptions(model, settings with { Seed = seed }), objective, null, null, new MemoryObserver(), cancellationToken).PerSecond;
            _ = TrainingBenchmark.BareLoopText(model, options.BatchSize, Math.Min(5, options.Steps));
            var bare = new List<double>();
            var full = new List<double>();
            for (var repeat = 0; repeat < options.Repeats; repeat++)
            {
                bare.Add(TrainingBenchmark.BareLoopText(model, options.BatchSize, options.Steps, seed: repeat));
                full.Add(Full(repeat));
            }

            Row(output, model, "training", bare, full);

            using var policy = new Gpt2LanguageModel(config);
            policy.to(TorchDevice.Preferred());
            var prompts = corpus.Prompts(tokenizer, options.BatchSize * 4, 8).Where(p => p.Length == 8).Take(options.BatchSize).ToList();
            var newTokens = Math.Min(64, config.Context - 8);
            var greedy = new SamplingOptions(newTokens, Temperature: 0, StopAtEndOfText: false);
            var nucleus = new SamplingOptions(newTokens, 1.0, 50, 0.95, StopAtEndOfText: false);
            var (sampleBare, sampleGreedy, sampleNucleus) = (new List<double>(), new List<double>(), new List<double>());
            for (var repeat = 0; repeat < options.Repeats + 1; repeat++)
            {
                var b = BareSampling(policy, prompts, newTokens);
                var g = FullSampling(policy, prompts, tokenizer.EndOfText, greedy, repeat);
                var n = FullSampling(policy, prompts, tokenizer.EndOfText, nucleus, repeat);
                if (repeat > 0) // the first of each is a warm-up
                {
                    sampleBare.Add(b);
                    sampleGreedy.Add(g);
                    sampleNucleus.Add(n);
                }
            }

            Row(output, model, $"sampling {prompts.Count} prompts × {newTokens} tokens, greedy", sampleBare, sampleGreedy);
            Row(output, model, $"sampling {prompts.Count} prompts × {newTokens} tokens, T 1, top-k 50, top-p 0.95 (bare: greedy)", sampleBare, sampleNucleus);

            // RL: RlFineTuner (RLOO: sampling, rewards, the policy's and the anchor's log-probabilities, AdamW) next to a
            // bare loop doing the same work. Every completion has the full budget (no stop at end-of-text) so both count
            // the same tokens.
            var init = TorchCheckpoint.ToTensorData(policy);
            var rlSteps = Math.Max(2, options.Steps / 10);
            var rlTokens = Math.Min(32, config.Context - 8);
            var reward = TextReward.Of(GoldRewards.LexicalDiversity);
            var (rlBare, rlFull, rlStepsPerSecond) = (new List<double>(), new List<double>(), new List<double>());
            for (var repeat = 0; repeat < options.Repeats + 1; repeat++)
            {
                var b = BareRl(config, init, prompts, RlSamples, rlTokens, rlSteps, tokenizer, reward, repeat);
                var clock = Stopwatch.StartNew();
                var f = RlFineTuner.Run(
                    config, init, null, prompts, reward,
                    new RlSettings(rlSteps, prompts.Count, 1e-4, repeat, new RlooOptions(RlSamples, 0.05, new SamplingOptions(rlTokens, StopAtEndOfText: false))),
                    cancellationToken: cancellationToken);
                if (repeat > 0)
                {
                    rlBare.Add(b);
                    rlFull.Add(f.TokensPerSecond);
                    rlStepsPerSecond.Add(rlSteps / clock.Elapsed.TotalSeconds);
                }
            }

            Row(output, model, string.Create(CultureInfo.InvariantCulture,
                $"RL (RLOO), {prompts.Count} prompts × {RlSamples} samples × {rlTokens} tokens a step, {rlSteps} steps; full path {BenchStatistics.Median(rlStepsPerSecond):F2} steps/s"), rlBare, rlFull);
        }

        output.WriteLine();
        output.WriteLine("training: bare loop = AdamW steps on one random batch already in memory; full path = FineTuner.Run on the corpus's");
        output.WriteLine("packed blocks (batches prepared during the step, resumption checkpoints serialised in memory, progress). sampling:");
        output.WriteLine("bare loop = the model's forward with the key/value cache and the argmax; full path = Gpt2Sampler, greedy (the");
        output.WriteLine("same work plus its bookkeeping: the target row) and with temperature, top-k and top-p (for scale). RL: bare loop =");
        output.WriteLine("multinomial sampling with the cache, rewards of the decoded completions, the policy's log-probabilities (with");
        output.WriteLine("gradients) and the anchor's, leave-one-out advantages, AdamW; full path = RlFineTuner.Run (the same, through Rloo,");
        output.WriteLine("Gpt2Sampler and the step's seeded prompt draws); tokens are sampled completion tokens per second of the whole step.");
    }

    private static void Row(TextWriter output, string model, string what, List<double> bare, List<double> full)
    {
        var b = BenchStatistics.Median(bare);
        var f = BenchStatistics.Median(full);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {model} | {what} | {b:F0} | {f:F0} | {f / b:F2}x |"));
    }

    private static double FullSampling(Gpt2LanguageModel model, List<int[]> prompts, int endOfText, SamplingOptions sampling, int seed)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        var clock = Stopwatch.StartNew();
        var result = Gpt2Sampler.Sample(model, prompts, endOfText, sampling, generator);
        return result.Completions.Sum(c => c.Length) / clock.Elapsed.TotalSeconds;
    }

    private const int RlSamples = 4;

    /// <summary>The bare RLOO loop: sampled completion tokens per second of whole steps.</summary>
    private static double BareRl(
        Gpt2Config config, IReadOnlyList<Merging.Checkpoints.TensorData> init, List<int[]> prompts, int samples, int newTokens, int steps,
        TextTokenizer tokenizer, TextReward reward, int seed)
    {
        using var policy = new Gpt2LanguageModel(config);
        using var anchor = new Gpt2LanguageModel(config);
        Gpt2Checkpoint.Load(policy, init, "bench");
        Gpt2Checkpoint.Load(anchor, init, "bench");
        var device = TorchDevice.Preferred();
        policy.to(device);
        anchor.to(device);
        anchor.eval();
        using var optimizer = optim.AdamW(policy.parameters(), lr: 1e-4, weight_decay: 0);
        using var generator = new Generator(unchecked((ulong)seed));
        var rows = prompts.SelectMany(p => Enumerable.Repeat(p, samples)).ToList();
        var promptTexts = rows.Select(p => tokenizer.Decode(p)).ToList();
        var width = rows[0].Length;
        var clock = Stopwatch.StartNew();
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(rows.SelectMany(p => p.Select(t => (long)t)).ToArray(), [rows.Count, width], device: device);
            var sampled = new List<Tensor>();
            policy.eval();
            using (no_grad())
            {
                using var cache = new Gpt2Cache(config.Layers);
                var logits = policy.Logits(ids, cache: cache).select(1, -1);
                for (var t = 0; t < newTokens; t++)
                {
                    var next = multinomial(nn.functional.softmax(logits.to(float32), -1).cpu(), 1, generator: generator).to(device);
                    sampled.Add(next);
                    if (t + 1 < newTokens)
                        logits = policy.Logits(next, cache: cache).select(1, -1);
                }
            }

            var completions = cat(sampled, 1);
            var drawn = completions.cpu().data<long>().ToArray();
            var rewards = reward.Score(promptTexts, [.. Enumerable.Range(0, rows.Count).Select(r => tokenizer.Decode([.. drawn.Skip(r * newTokens).Take(newTokens).Select(v => (int)v)]))]);
            var sequence = cat([ids, completions], 1);
            var input = sequence.narrow(1, 0, sequence.shape[1] - 1);
            var targets = sequence.narrow(1, 1, sequence.shape[1] - 1).unsqueeze(2);
            policy.train();
            var logPolicy = nn.functional.log_softmax(policy.forward(input).to(float32), 2).gather(2, targets).squeeze(2).narrow(1, width - 1, newTokens).sum(1);
            Tensor logAnchor;
            using (no_grad())
                logAnchor = nn.functional.log_softmax(anchor.forward(input).to(float32), 2).gather(2, targets).squeeze(2).narrow(1, width - 1, newTokens).sum(1);
            var kl = (logPolicy.detach() - logAnchor).cpu().data<float>().ToArray();
            var advantages = tensor(Rloo.LeaveOneOut([.. rewards.Select((r, i) => r - (0.05 * kl[i]))], samples).Select(a => (float)a).ToArray(), device: device);
            var loss = -(advantages * logPolicy).mean();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }

        return steps * rows.Count * (double)newTokens / clock.Elapsed.TotalSeconds;
    }

    private static double BareSampling(Gpt2LanguageModel model, List<int[]> prompts, int newTokens)
    {
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        using var cache = new Gpt2Cache(model.Config.Layers);
        var ids = tensor(prompts.SelectMany(p => p.Select(t => (long)t)).ToArray(), [prompts.Count, prompts[0].Length]);
        var logits = model.Logits(ids, cache: cache).select(1, -1);
        for (var step = 0; step < newTokens; step++)
        {
            var next = logits.argmax(-1, keepdim: true);
            if (step + 1 < newTokens)
                logits = model.Logits(next, cache: cache).select(1, -1);
        }

        return prompts.Count * (double)newTokens / clock.Elapsed.TotalSeconds;
    }

    private static double FullRun(string model, ILabelledImages data, TrainBenchmarkOptions options, int steps, int seed, CancellationToken cancellationToken)
    {
        var settings = new TrainSettings { Steps = steps, BatchSize = options.BatchSize, LearningRate = 0.01, Momentum = 0.9, Seed = seed };
        return FineTuner.Run(new FineTuneOptions(model, settings), data, null, null, new MemoryObserver(), cancellationToken).PerSecond;
    }

    private static ILabelledImages LoadData(string dataRoot, TextWriter output)
    {
        var folder = Path.Combine(dataRoot, "fashion-mnist");
        if (!Directory.Exists(folder))
        {
            folder = Path.Combine(Path.GetTempPath(), "soup-bench-synthetic-idx");
            TinyIdxDataset.Write(folder, trainCount: 12_000, testCount: 2_000, seed: 1);
            output.WriteLine($"Fashion-MNIST not found under {dataRoot}: using 14,000 synthetic 28x28 images instead.");
        }

        var data = new DataRef
        {
            Dataset = "fashion-mnist", Layout = DataLayouts.Rotated, Domains = ["0", "15", "30", "45", "60"], Part = DataParts.In, SplitSeed = 0,
        };
        var clock = Stopwatch.StartNew();
        var loaded = DatasetLoader.Load(data, folder);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Data: {loaded.Count:N0} images of rotated domains 0-60 from {folder}, decoded and rotated in {clock.Elapsed.TotalSeconds:F1} s"));
        return loaded;
    }

    /// <summary>Serialises each resumption checkpoint to memory, as a worker does before uploading it.</summary>
    private sealed class MemoryObserver : ITrainingObserver
    {
        public void Progress(TrainingProgress progress)
        {
        }

        public void Checkpoint(TrainingState state)
        {
            using var stream = new MemoryStream();
            state.ToSafetensors(stream);
        }
    }
}
