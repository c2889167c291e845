using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Merging;
using Soup.Local;
using Soup.Orchestration;
using Soup.Training.Text;

namespace Soup.Benchmarks;

/// <summary>The settings of <c>pipeline bench warm</c>: the standard protocol, or the quick one.</summary>
/// <param name="Seeds">Seeds: each makes its own pairs (partners and flipped labels) and its own pipeline.</param>
/// <param name="TrainPairs">Training pairs (a fifth of them held out as the validation split).</param>
/// <param name="TestPairs">Test pairs: other prompts and completions, gold labels.</param>
/// <param name="Noise">The share of training labels flipped (WARM's label noise).</param>
/// <param name="Members">Reward models averaged.</param>
/// <param name="Steps">Steps of each reward model.</param>
/// <param name="PretrainSteps">Steps of the shared init (a reward model trained briefly on the noisy pairs).</param>
/// <param name="TrainCleanLimit">At most this many training pairs scored against their gold labels (memorisation of flipped labels).</param>
/// <param name="Reward">
/// The gold reward that labels the pairs: conciseness by default, which a small reward model trained from scratch can
/// learn in minutes (positivity needs each sentiment word learnt from the few pairs it is in: near chance at this size).
/// </param>
/// <param name="Model">The reward models' backbone.</param>
/// <param name="Corpus">The text corpus the pairs are cut from.</param>
/// <param name="Concurrency">Pipelines run at once (one trains while another pretrains, merges or evaluates).</param>
/// <param name="ShiftedTopics">
/// Files of the corpus whose documents give the shifted-prompt test pairs. When set, each pipeline makes its own pairs
/// (its <c>preferences</c> section): the init is a language model pretrained for <paramref name="PretrainSteps"/> steps
/// on the other files' training documents, the pairs come from their held-out documents, and the reward models start
/// from that language model, WARM's setting. Null: the pairs are cut here, written as datasets, and the init is a reward
/// model trained briefly on the noisy pairs (the RL benchmark's WARM part).
/// </param>
/// <param name="ShiftedPairs">Shifted-prompt test pairs (with <paramref name="ShiftedTopics"/>).</param>
public sealed record WarmBenchmarkOptions(
    int Seeds, int TrainPairs, int TestPairs, double Noise, int Members, int Steps, int PretrainSteps, int TrainCleanLimit,
    string Reward = GoldRewards.ConcisenessName, string Model = "gpt2-tiny", string Corpus = "/usr/share/games/fortunes", int Concurrency = 2,
    IReadOnlyList<string>? ShiftedTopics = null, int ShiftedPairs = 0)
{
    /// <summary>The fortune files of Debian's package whose texts are the shifted prompts by default: science, literature and riddles.</summary>
    public static IReadOnlyList<string> FortuneShiftedTopics { get; } = ["science", "literature", "riddles"];

    /// <summary>The name of the corpus's copy under the engine's data root (pipelines that make their pairs read it there).</summary>
    public const string CorpusName = "warm-corpus";

    /// <summary>Tokens of each prompt.</summary>
    public const int PromptTokens = 8;

    /// <summary>Tokens of each completion.</summary>
    public const int CompletionTokens = 24;

    /// <summary>The standard protocol (≤ 45 min on 2 cores): 5 seeds, 6 reward models of 300 steps on 2,000 pairs.</summary>
    public static WarmBenchmarkOptions Standard { get; } = new(5, 2000, 500, 0.25, 6, 300, 100, 800, ShiftedTopics: FortuneShiftedTopics, ShiftedPairs: 300);

    /// <summary>The quick protocol (≤ 10 min on 2 cores): 3 seeds at once, 4 reward models of 120 steps on 1,000 pairs, the language model 20 steps.</summary>
    public static WarmBenchmarkOptions Quick { get; } = new(3, 1000, 300, 0.25, 4, 120, 20, 400, Concurrency: 3, ShiftedTopics: FortuneShiftedTopics, ShiftedPairs: 200);

    /// <summary>Whether each pipeline makes its own pairs (<see cref="ShiftedTopics"/> set).</summary>
    public bool PipelineMadePairs => ShiftedTopics is not null;
}

/// <summary>One method's pairwise accuracy on one split for one seed.</summary>
public sealed record WarmScore(string Method, string Split, int Seed, double Accuracy);

/// <summary>The three conditions of averaging on one seed: diversity and linear connectivity of reward models 0 and 1 (noisy validation split).</summary>
public sealed record WarmConditions(int Seed, double? Disagreement, double? MidpointAccuracy, double? EndpointMeanAccuracy);

/// <summary>What one seed's pairs are.</summary>
public sealed record WarmData(int Seed, int TrainPairs, int TestPairs, int Flipped, int Ties)
{
    /// <summary>Shifted-prompt test pairs (0: none).</summary>
    public int Shifted { get; init; }
}

/// <summary>Everything <c>pipeline bench warm</c> measured.</summary>
public sealed record WarmBenchmarkResult(
    WarmBenchmarkOptions Options, IReadOnlyList<WarmScore> Scores, IReadOnlyList<WarmConditions> Conditions, IReadOnlyList<WarmData> Data, double Seconds, string Machine);

/// <summary>
/// <c>pipeline bench warm</c>: WARM on English text. Per seed: preference pairs cut from the corpus (a document's real
/// continuation against another document's, labelled by a gold reward, a share of the training labels flipped), then
/// one real <c>warm</c> pipeline (TorchSharp workers, Azurite, the Durable engine): M GPT-2 reward models from a shared
/// init with a random search of learning rate and dropout, uniformly averaged. Reported side by side, as the paper does:
/// the reward models on average, the best one by noisy validation accuracy, WARM (their weight average) and the
/// ensemble of their predictions; pairwise accuracy on held-out pairs with gold labels (other prompts), on the
/// validation pairs with gold and with noisy labels, and on the training pairs with gold labels (how much of the label
/// noise was memorised). Mean ± standard error over seeds.
/// </summary>
public static class WarmBenchmark
{
    /// <summary>The methods, in the table's order.</summary>
    public static readonly IReadOnlyList<string> Methods = ["Reward models (mean)", "Best reward model", "WARM (uniform)", "Ensemble"];

    /// <summary>The splits, in the table's order, when the pairs are cut here: the test split with gold labels first.</summary>
    public static readonly IReadOnlyList<string> Splits = ["test-clean", "validation-clean", "validation", "train-clean"];

    /// <summary>The splits, in the table's order, when each pipeline makes its pairs: other prompts and shifted prompts first.</summary>
    public static readonly IReadOnlyList<string> PipelineSplits = ["test", SplitPlanner.ShiftedSplit, "validation-clean", "validation", "train-clean"];

    /// <summary>The splits the benchmark reports under <paramref name="options"/>.</summary>
    public static IReadOnlyList<string> SplitsOf(WarmBenchmarkOptions options) => options?.PipelineMadePairs == true ? PipelineSplits : Splits;

    /// <summary>Runs the benchmark with its datasets under <paramref name="dataRoot"/> (the engine's data root) and returns its result (also printed as it goes).</summary>
    public static async Task<WarmBenchmarkResult> RunAsync(
        WarmBenchmarkOptions options, IConfiguration configuration, string dataRoot, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var clock = Stopwatch.StartNew();
        var reward = GoldRewards.Get(options.Reward);
        var corpus = TextCorpus.Read(options.Corpus);
        var documents = corpus.Documents;
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        var data = new List<WarmData>();
        IReadOnlyList<string>? topics = null;
        if (options.ShiftedTopics is { } shifted)
        {
            // Each pipeline makes its pairs from a copy of the corpus under the data root: the shifted files apart.
            if (shifted.FirstOrDefault(t => !corpus.Files.Contains(t)) is { } missing)
                throw new ArgumentException($"the corpus {options.Corpus} has no file '{missing}' for the shifted prompts (its files: {string.Join(", ", corpus.Files.Take(12))}…)");
            topics = [.. corpus.Files.Where(f => !shifted.Contains(f))];
            CopyCorpus(options.Corpus, Path.Combine(dataRoot, WarmBenchmarkOptions.CorpusName));
        }
        else
        {
            for (var seed = 0; seed < options.Seeds; seed++)
                data.Add(WriteData(options, documents, tokenizer, reward, dataRoot, seed));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"WARM on {options.Corpus} ({documents.Count} documents, reward {reward.Name}): {options.Seeds} seed(s), {options.TrainPairs} training pairs ({100 * options.Noise:F0} % of labels flipped), {options.TestPairs} test pairs, {options.Members} {options.Model} reward models x {options.Steps} steps, {configuration["InProcessWorkers"]} worker(s), {Environment.ProcessorCount} cores"));
        await using var engine = await LocalEngine.StartAsync(configuration, cancellationToken: cancellationToken);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var scores = new List<WarmScore>();
        var conditions = new List<WarmConditions>();
        using var gate = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        await Task.WhenAll(Enumerable.Range(0, options.Seeds).Select(async seed =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var spec = topics is null ? Spec(options, seed) : PipelineSpec(options, topics, seed);
                var result = await SoupsBenchmark.RunPipelineAsync(engine.Client, engine.Specs, storage, spec, cancellationToken);
                var (seedScores, seedConditions) = Scores(result.Rounds[0], seed, SplitsOf(options));
                var made = topics is null ? null : await RoundResults.LoadPairsAsync(storage, result.PipelineId, cancellationToken)
                    ?? throw new InvalidOperationException($"pipeline {result.PipelineId} completed without its pairs report");
                lock (scores)
                {
                    scores.AddRange(seedScores);
                    conditions.Add(seedConditions);
                    if (made is not null)
                        data.Add(new WarmData(seed, made.Train, made.Test, made.Flipped, made.Ties) { Shifted = made.Shifted });
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed:hh\\:mm\\:ss}] seed {seed}, {SplitsOf(options)[0]}: ")
                        + string.Join(", ", seedScores.Where(s => s.Split == SplitsOf(options)[0]).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Method} {100 * s.Accuracy:F1}"))));
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        var measured = new WarmBenchmarkResult(
            options, [.. scores.OrderBy(s => s.Seed)], [.. conditions.OrderBy(c => c.Seed)], [.. data.OrderBy(d => d.Seed)], clock.Elapsed.TotalSeconds, SoupsBenchmark.Machine());
        output.WriteLine();
        output.Write(Markdown(measured));
        return measured;
    }

    /// <summary>The names of seed <paramref name="seed"/>'s three datasets: noisy training pairs, the same with gold labels, test pairs.</summary>
    public static (string Noisy, string Clean, string Test) Datasets(int seed) =>
        (Name(seed, "noisy"), Name(seed, "clean"), Name(seed, "test"));

    private static string Name(int seed, string part) => string.Create(CultureInfo.InvariantCulture, $"warm-s{seed}-{part}");

    /// <summary>Writes seed <paramref name="seed"/>'s pairs under <paramref name="dataRoot"/> (each file written beside its place, then moved in).</summary>
    internal static WarmData WriteData(WarmBenchmarkOptions o, IReadOnlyList<string> documents, TextTokenizer tokenizer, GoldReward reward, string dataRoot, int seed)
    {
        var pairs = PreferenceGeneration.FromCorpus(
            documents, WarmBenchmarkOptions.PromptTokens, tokenizer, reward,
            new PairGenerationOptions(o.TrainPairs, o.TestPairs, new SamplingOptions(WarmBenchmarkOptions.CompletionTokens), o.Noise, seed));
        var (noisy, clean, test) = Datasets(seed);
        foreach (var (name, set) in new[] { (noisy, pairs.Train), (clean, pairs.TrainClean), (test, pairs.Test) })
        {
            var path = Path.Combine(Directory.CreateDirectory(Path.Combine(dataRoot, name)).FullName, "pairs.jsonl");
            PreferencePairs.Write(path + ".partial", set);
            File.Move(path + ".partial", path, overwrite: true);
        }

        return new WarmData(seed, pairs.Train.Count, pairs.Test.Count, pairs.Flipped, pairs.Ties);
    }

    /// <summary>Seed <paramref name="seed"/>'s <c>warm</c> pipeline: a shared init, M reward models from a random search, their uniform average.</summary>
    public static PipelineSpec Spec(WarmBenchmarkOptions o, int seed)
    {
        ArgumentNullException.ThrowIfNull(o);
        var (noisy, clean, test) = Datasets(seed);
        return new PipelineSpec
        {
            Name = "bench-warm",
            Recipe = Recipes.Warm,
            Seed = seed,
            Rounds = 1,
            Model = o.Model,
            Data = new DataSpec { Dataset = noisy, Layout = DataLayouts.Preferences, ValidationFraction = 0.2, EvalSplit = "validation" },
            Init = new InitSpec { PretrainSteps = o.PretrainSteps, LearningRate = 5e-4 },
            Members = new MembersSpec
            {
                Count = o.Members,
                Steps = o.Steps,
                BatchSize = 16,
                Optimizer = Optimizers.AdamW,
                Search = new SearchSpace
                {
                    LearningRate = new Distribution { Min = 1e-4, Max = 1e-3, Log = true },
                    Dropout = new Distribution { Values = [0, 0.1] },
                },
            },
            Merge = new MergeParameters { Method = "linear" },
            Evaluation = new EvaluationSpec
            {
                Splits =
                [
                    new SplitSpec { Name = "test-clean", Dataset = test, Part = DataParts.All, Role = SplitRoles.Test },
                    new SplitSpec { Name = "validation-clean", Dataset = clean, Part = DataParts.Out, Role = SplitRoles.Test },
                    new SplitSpec { Name = "train-clean", Dataset = clean, Part = DataParts.In, Role = SplitRoles.Test, Limit = o.TrainCleanLimit },
                ],
            },
            RoundTimeout = TimeSpan.FromHours(1),
        };
    }

    /// <summary>
    /// Seed <paramref name="seed"/>'s <c>warm</c> pipeline that makes its own pairs (<see cref="PreferencesSpec"/>): a
    /// language model pretrained on the corpus's <paramref name="topics"/> is the init, the pairs are real continuations
    /// of their held-out documents (and of the shifted topics' documents for the <c>shifted</c> split), M reward models
    /// from the init with a random search, their uniform average.
    /// </summary>
    public static PipelineSpec PipelineSpec(WarmBenchmarkOptions o, IReadOnlyList<string> topics, int seed)
    {
        ArgumentNullException.ThrowIfNull(o);
        var spec = Spec(o, seed);
        return spec with
        {
            Data = spec.Data with { Dataset = PairDatasets.Train },
            Init = new InitSpec { PretrainSteps = o.PretrainSteps, LearningRate = 1e-3 },
            Preferences = new PreferencesSpec
            {
                Corpus = WarmBenchmarkOptions.CorpusName,
                Topics = topics,
                Completions = PairCompletions.Corpus,
                Reward = o.Reward,
                Noise = o.Noise,
                TrainPairs = o.TrainPairs,
                TestPairs = o.TestPairs,
                PromptTokens = WarmBenchmarkOptions.PromptTokens,
                MaxNewTokens = WarmBenchmarkOptions.CompletionTokens,
                Shifted = new ShiftedPromptsSpec { Topics = o.ShiftedTopics, Pairs = o.ShiftedPairs },
            },
            Evaluation = new EvaluationSpec
            {
                Splits =
                [
                    new SplitSpec { Name = "validation-clean", Dataset = PairDatasets.Clean, Part = DataParts.Out, Role = SplitRoles.Test },
                    new SplitSpec { Name = "train-clean", Dataset = PairDatasets.Clean, Part = DataParts.In, Role = SplitRoles.Test, Limit = o.TrainCleanLimit },
                ],
            },
        };
    }

    /// <summary>Copies the corpus's files (a fortune file needs its .dat beside it) into <paramref name="target"/>, once.</summary>
    private static void CopyCorpus(string source, string target)
    {
        if (Directory.Exists(target))
            return;
        var staging = target + ".partial";
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(staging, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy, overwrite: true);
        }

        Directory.Move(staging, target);
    }

    /// <summary>The scores of one seed's round: each method on each of <paramref name="splits"/> (default <see cref="Splits"/>), and the conditions.</summary>
    public static (List<WarmScore> Scores, WarmConditions Conditions) Scores(RoundResult round, int seed, IReadOnlyList<string>? splits = null)
    {
        ArgumentNullException.ThrowIfNull(round);
        double Of(IReadOnlyList<SplitAccuracy> scores, string split) => scores.Single(s => s.Split == split).Accuracy;
        IReadOnlyList<SplitAccuracy> Variant(string name) =>
            round.Variants?.SingleOrDefault(v => v.Name == name)?.Scores ?? throw new InvalidOperationException($"round {round.Round} has no '{name}' result");
        var list = new List<WarmScore>();
        foreach (var split in splits ?? Splits)
        {
            list.Add(new(Methods[0], split, seed, round.Members.Average(m => Of(m.Scores!, split))));
            list.Add(new(Methods[1], split, seed, Of(Variant("erm"), split)));
            list.Add(new(Methods[2], split, seed, Of(Variant("uniform"), split)));
            list.Add(new(Methods[3], split, seed, Of(Variant(SoupVariant.EnsembleName), split)));
        }

        var d = round.Diagnostics;
        return (list, new WarmConditions(seed, d?.Disagreement, d?.MidpointAccuracy, d?.EndpointMeanAccuracy));
    }

    /// <summary>The results as Markdown: pairwise accuracy per method and split, the conditions, the data.</summary>
    public static string Markdown(WarmBenchmarkResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = result.Options;
        var splits = SplitsOf(o);
        var text = new StringBuilder();
        var tests = o.PipelineMadePairs
            ? $"test: other held-out documents' prompts and completions, gold labels; shifted: prompts and completions of other topics ({string.Join(", ", o.ShiftedTopics!)}), gold labels (both out of sample; every pipeline made its own pairs from the corpus's held-out documents, and its reward models start from a {o.Model} language model pretrained {o.PretrainSteps} steps on the other documents)"
            : "test-clean: other documents' prompts and completions, gold labels (the only split out of sample)";
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Pairwise accuracy (%) of {o.Members} {o.Model} reward models trained on {o.TrainPairs} pairs with {100 * o.Noise:F0} % of labels flipped (gold reward {o.Reward}), mean ± standard error over {result.Data.Count} seed(s). {tests}; validation-clean / validation: the held-out fifth of the training pairs with gold / noisy labels (their completions also appear in training pairs: each document's continuation is in about two pairs); train-clean: the pairs trained on, gold labels (at most {o.TrainCleanLimit}; memorising every flipped label gives {100 * (1 - o.Noise):F0} %). The best reward model is chosen on noisy validation accuracy.");
        text.AppendLine();
        text.AppendLine("| method | " + string.Join(" | ", splits) + " |");
        text.AppendLine("|---|" + string.Concat(splits.Select(_ => "---:|")));
        foreach (var method in Methods)
        {
            var cells = splits.Select(split => SoupsBenchmark.Cell(result.Scores.Where(s => s.Method == method && s.Split == split).Select(s => s.Accuracy).ToList()));
            text.AppendLine(CultureInfo.InvariantCulture, $"| {method} | {string.Join(" | ", cells)} |");
        }

        text.AppendLine();
        text.AppendLine("WARM − best reward model, per seed then mean ± standard error (points): " + string.Join(", ", splits.Select(split =>
        {
            var gains = result.Scores.Where(s => s.Split == split).GroupBy(s => s.Seed)
                .Select(g => g.Single(s => s.Method == Methods[2]).Accuracy - g.Single(s => s.Method == Methods[1]).Accuracy).ToList();
            return $"{split} {SoupsBenchmark.Cell(gains)}";
        })) + ".");
        text.AppendLine();
        text.AppendLine("The three conditions on the noisy validation split (reward models 0 and 1 for connectivity):");
        text.AppendLine();
        text.AppendLine("| seed | disagreement | midpoint acc | endpoints mean acc |");
        text.AppendLine("|---:|---:|---:|---:|");
        foreach (var c in result.Conditions)
        {
            static string Percent(double? value) => value is { } v ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) : "-";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {c.Seed} | {Percent(c.Disagreement)} | {Percent(c.MidpointAccuracy)} | {Percent(c.EndpointMeanAccuracy)} |");
        }

        text.AppendLine();
        text.AppendLine("Data per seed: " + string.Join("; ", result.Data.Select(d => string.Create(CultureInfo.InvariantCulture,
            $"seed {d.Seed}: {d.TrainPairs} training pairs ({d.Flipped} flipped), {d.TestPairs} test pairs{(d.Shifted > 0 ? $", {d.Shifted} shifted" : "")}, {d.Ties} ties skipped"))) + ".");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Took {TimeSpan.FromSeconds(Math.Round(result.Seconds)):g} on {result.Machine}.");
        return text.ToString();
    }

    /// <summary>The result as indented JSON.</summary>
    public static string Json(WarmBenchmarkResult result) => JsonSerializer.Serialize(result, SoupsBenchmark.ResultJson);
}
