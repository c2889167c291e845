using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Local;
using Soup.Core.Jobs;
using Soup.Merging;
using Soup.Core.Storage;
using Soup.Core.Specs;
using Soup.Orchestration;

using Soup.Merging.Engine;

namespace Soup.Benchmarks;

/// <summary>The settings of <c>pipeline bench soups</c>: the standard protocol, or the quick one.</summary>
/// <param name="Seeds">Seeds per held-out domain.</param>
/// <param name="TestDomains">The held-out domains, one leave-one-domain-out task each.</param>
/// <param name="Members">Members of each round.</param>
/// <param name="Steps">Steps of each member.</param>
/// <param name="PretrainSteps">Steps of the shared pretraining on the training domains.</param>
/// <param name="AuxiliarySteps">Steps of each of Ratatouille's auxiliary fine-tunings.</param>
/// <param name="Rounds">Rounds of the iterated soup (CARDIO-style: each soup the next round's init).</param>
/// <param name="EvalLimit">At most this many examples per evaluation split.</param>
/// <param name="Model">The network.</param>
/// <param name="Dataset">The dataset (IDX files, rotated into domains).</param>
/// <param name="Concurrency">Tasks run at once (their pipelines overlap: one trains while another merges or evaluates).</param>
public sealed record SoupsBenchmarkOptions(
    int Seeds, IReadOnlyList<string> TestDomains, int Members, int Steps, int PretrainSteps, int AuxiliarySteps, int Rounds, int? EvalLimit,
    string Model = "cnn-small", string Dataset = "fashion-mnist", int Concurrency = 3)
{
    /// <summary>The standard protocol: every domain held out in turn, 3 seeds.</summary>
    public static SoupsBenchmarkOptions Standard { get; } = new(3, DataLayouts.RotatedDomains, 5, 150, 300, 100, 2, 2000);

    /// <summary>The quick protocol: the same tasks, one seed, fewer steps and members.</summary>
    public static SoupsBenchmarkOptions Quick { get; } = new(1, DataLayouts.RotatedDomains, 3, 50, 100, 30, 2, 800);
}

/// <summary>One method's test accuracy on one task (held-out domain, seed).</summary>
public sealed record SoupsScore(string Method, string TestDomain, int Seed, double Accuracy);

/// <summary>The measured conditions of averaging on one task's first round.</summary>
public sealed record SoupsConditions(
    string TestDomain, int Seed, double MembersMeanTest, double MembersMeanValidation, double? Disagreement, double? RatioError,
    double? MidpointAccuracy, double? EndpointMeanAccuracy);

/// <summary>Everything <c>pipeline bench soups</c> measured.</summary>
public sealed record SoupsBenchmarkResult(
    SoupsBenchmarkOptions Options, IReadOnlyList<SoupsScore> Scores, IReadOnlyList<SoupsConditions> Conditions, double Seconds, string Machine);

/// <summary>
/// <c>pipeline bench soups</c>: the recipes on rotated Fashion-MNIST under DomainBed's protocol. For each held-out
/// domain and seed, the local engine runs three real pipelines (TorchSharp workers, Azurite, the Durable engine):
/// DiWA (a shared init pretrained on the training domains, members from a random search, uniform and greedy soups,
/// iterated), Ratatouille (auxiliary fine-tunings on groups of training domains recycled as inits) and a single
/// moving-average run (MA). Model selection uses the training domains' held-out splits only (training-domain
/// validation); the held-out domain is only ever the test split. Prints progress and a table of test accuracies
/// (mean ± standard error over seeds), and the three conditions for averaging (connectivity, accuracy, diversity).
/// </summary>
public static class SoupsBenchmark
{
    /// <summary>The methods, in the table's order (iterations appended per round).</summary>
    public static readonly IReadOnlyList<string> Methods = ["ERM", "MA", "Ensemble", "DiWA uniform", "DiWA greedy", "Ratatouille"];

    /// <summary>
    /// The engine's settings for a benchmark (<paramref name="benchmark"/> names them): a task hub, container and queue of its own (so listings stay small and
    /// runs never meet), and short polling intervals, since its many short jobs would otherwise wait on polls.
    /// </summary>
    public static Dictionary<string, string?> EngineSettings(string benchmark = "soups")
    {
        var suffix = System.Security.Cryptography.RandomNumberGenerator.GetHexString(8, lowercase: true);
        return new Dictionary<string, string?>
        {
            ["TaskHubName"] = benchmark + suffix.Replace('0', 'a'),
            ["CheckpointsContainer"] = $"bench-{benchmark}-{suffix}",
            ["JobsQueue"] = $"bench-{benchmark}-{suffix}",
            ["MaxQueuePollingInterval"] = "00:00:00.200",
            ["LandingPollInterval"] = "00:00:00.300",
            ["QueuePollInterval"] = "00:00:00.200",
        };
    }

    /// <summary>Runs the benchmark and returns its result (also printed as it goes).</summary>
    public static async Task<SoupsBenchmarkResult> RunAsync(
        SoupsBenchmarkOptions options, IConfiguration configuration, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        await using var engine = await LocalEngine.StartAsync(configuration, cancellationToken: cancellationToken);
        var tasks = options.TestDomains.SelectMany(d => Enumerable.Range(0, options.Seeds).Select(s => (Domain: d, Seed: s))).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Rotated {options.Dataset}: {tasks.Count} task(s) ({options.TestDomains.Count} held-out domain(s) x {options.Seeds} seed(s)), {options.Members} members x {options.Steps} steps, {options.Rounds} round(s), {configuration["InProcessWorkers"]} worker(s), {Environment.ProcessorCount} cores"));

        var scores = new List<SoupsScore>();
        var conditions = new List<SoupsConditions>();
        using var gate = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        var done = 0;
        await Task.WhenAll(tasks.Select(async task =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var (taskScores, taskConditions) = await RunTaskAsync(engine.Client, engine.Specs, engine.Services.GetRequiredService<SoupStorage>(), options, task.Domain, task.Seed, cancellationToken);
                lock (scores)
                {
                    scores.AddRange(taskScores);
                    conditions.Add(taskConditions);
                    done++;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{clock.Elapsed:hh\\:mm\\:ss}] {done}/{tasks.Count} test domain {task.Domain}, seed {task.Seed}: ")
                        + string.Join(", ", taskScores.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Method} {100 * s.Accuracy:F1}"))));
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        var result = new SoupsBenchmarkResult(
            options, [.. scores.OrderBy(s => s.TestDomain, StringComparer.Ordinal).ThenBy(s => s.Seed)], [.. conditions.OrderBy(c => c.TestDomain, StringComparer.Ordinal).ThenBy(c => c.Seed)],
            clock.Elapsed.TotalSeconds, Machine());
        output.WriteLine();
        output.Write(Markdown(result));
        return result;
    }

    /// <summary>The three pipelines of one task and the scores they give.</summary>
    private static async Task<(List<SoupsScore>, SoupsConditions)> RunTaskAsync(
        DurableTaskClient client, ISpecStore specs, SoupStorage storage, SoupsBenchmarkOptions o, string testDomain, int seed, CancellationToken cancellationToken)
    {
        var train = DataLayouts.RotatedDomains.Where(d => d != testDomain).ToList();
        var diwa = await RunPipelineAsync(client, specs, storage, DiwaSpec(o, train, testDomain, seed), cancellationToken);
        var init = diwa.Rounds[0].Init;
        var ratatouille = RunPipelineAsync(client, specs, storage, RatatouilleSpec(o, train, testDomain, seed, init), cancellationToken);
        var ma = RunPipelineAsync(client, specs, storage, MovingAverageSpec(o, train, testDomain, seed, init), cancellationToken);
        await Task.WhenAll(ratatouille, ma);

        double Test(IReadOnlyList<SplitAccuracy> s) => s.Single(x => x.Split == "test").Accuracy;
        var round1 = diwa.Rounds[0];
        SoupsScore Score(string method, double accuracy) => new(method, testDomain, seed, accuracy);
        var list = new List<SoupsScore>
        {
            Score("ERM", Test(Variant(round1, "erm").Scores)),
            Score("MA", Test((await ma).Rounds[0].DeliveredScores()!)),
            Score("Ensemble", Test(Variant(round1, "ensemble").Scores)),
            Score("DiWA uniform", Test(Variant(round1, "uniform").Scores)),
            Score("DiWA greedy", Test(Variant(round1, "greedy").Scores)),
            Score("Ratatouille", Test((await ratatouille).Rounds[0].DeliveredScores()!)),
        };
        list.AddRange(diwa.Rounds.Select(r => Score(Iteration(r.Round), Test(r.DeliveredScores()!))));

        var d = round1.Diagnostics;
        double Mean(string split) => round1.Members.Average(m => m.Scores!.Single(s => s.Split == split).Accuracy);
        return (list, new SoupsConditions(
            testDomain, seed, Mean("test"), Mean("validation"), d?.Disagreement, d?.RatioError, d?.MidpointAccuracy, d?.EndpointMeanAccuracy));
    }

    private static SoupVariant Variant(RoundResult round, string name) =>
        round.Variants?.SingleOrDefault(v => v.Name == name) ?? throw new InvalidOperationException($"round {round.Round} has no '{name}' result");

    private static string Iteration(int round) => string.Create(CultureInfo.InvariantCulture, $"Iteration {round}");

    /// <summary>Runs <paramref name="spec"/> to its end and returns its result.</summary>
    /// <exception cref="InvalidOperationException">The pipeline did not complete.</exception>
    internal static async Task<PipelineResult> RunPipelineAsync(DurableTaskClient client, ISpecStore specs, SoupStorage storage, PipelineSpec spec, CancellationToken cancellationToken)
    {
        var id = await PipelineStarter.StartAsync(client, specs, spec, cancellationToken: cancellationToken);
        var metadata = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken);
        var view = await RoundResults.LoadAsync(storage, PipelineStatusView.From(metadata), cancellationToken);
        return view.RuntimeStatus == nameof(OrchestrationRuntimeStatus.Completed) && view.Result is { } result
            ? result
            : throw new InvalidOperationException($"benchmark pipeline {id} ended {view.RuntimeStatus}: {view.Failure}");
    }

    private static PipelineSpec Base(SoupsBenchmarkOptions o, string name, IReadOnlyList<string> train, string test, int seed) => new()
    {
        Name = name,
        Seed = seed,
        Model = o.Model,
        Data = new DataSpec
        {
            Dataset = o.Dataset, Layout = DataLayouts.Rotated, TrainDomains = train, TestDomains = [test], EvalSplit = "validation", EvalLimit = o.EvalLimit,
        },
        Members = new MembersSpec { Count = o.Members, Steps = o.Steps, BatchSize = 64 },
        Merge = new MergeParameters { Method = "linear" },
        RoundTimeout = TimeSpan.FromHours(1),
    };

    /// <summary>The hyperparameter search of the members (DiWA's: diverse learning rates, weight decays and dropouts).</summary>
    private static SearchSpace Search() => new()
    {
        LearningRate = new Distribution { Min = 0.005, Max = 0.1, Log = true },
        WeightDecay = new Distribution { Min = 1e-6, Max = 1e-3, Log = true },
        Dropout = new Distribution { Values = [0, 0.1, 0.3] },
    };

    /// <summary>DiWA, iterated: pretraining on the training domains, a random search, uniform soups chained round after round, the greedy soup scored too.</summary>
    public static PipelineSpec DiwaSpec(SoupsBenchmarkOptions o, IReadOnlyList<string> train, string test, int seed)
    {
        var spec = Base(o, "bench-diwa", train, test, seed);
        return spec with
        {
            Recipe = o.Rounds > 1 ? "iterations" : "diwa",
            Rounds = o.Rounds,
            Init = new InitSpec { PretrainSteps = o.PretrainSteps, LearningRate = 0.05 },
            Members = spec.Members with { Search = Search() },
            Soup = new SoupSpec { Select = SoupSelections.All, Greedy = true },
        };
    }

    /// <summary>Ratatouille: auxiliary fine-tunings on three groups of training domains, recycled as the members' inits.</summary>
    public static PipelineSpec RatatouilleSpec(SoupsBenchmarkOptions o, IReadOnlyList<string> train, string test, int seed, string init)
    {
        var spec = Base(o, "bench-ratatouille", train, test, seed);
        var groups = train.Select((d, i) => (d, i)).GroupBy(x => x.i % 3).Select(g => g.Select(x => x.d).ToList()).ToList();
        return spec with
        {
            Recipe = "ratatouille",
            Init = new InitSpec { Checkpoint = init },
            Auxiliary = [.. groups.Select((g, i) => new AuxiliarySpec { Name = $"aux{i}", Domains = g, Steps = o.AuxiliarySteps, LearningRate = 0.03 })],
            Members = spec.Members with { Search = Search() },
        };
    }

    /// <summary>MA: one run from the shared init whose weights are averaged from half-way on (a moving average).</summary>
    public static PipelineSpec MovingAverageSpec(SoupsBenchmarkOptions o, IReadOnlyList<string> train, string test, int seed, string init)
    {
        var spec = Base(o, "bench-ma", train, test, seed);
        return spec with
        {
            Recipe = "erm",
            Init = new InitSpec { Checkpoint = init },
            Members = spec.Members with { Count = 1, LearningRates = [0.03], Average = WeightAverages.MovingAverage, AverageStart = Math.Max(1, o.Steps / 2) },
            Soup = new SoupSpec { Select = SoupSelections.Best },
        };
    }

    /// <summary>The results as Markdown: test accuracy per held-out domain and on average, then the conditions.</summary>
    public static string Markdown(SoupsBenchmarkResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder();
        var domains = result.Options.TestDomains;
        var iterations = result.Scores.Select(s => s.Method).Where(m => m.StartsWith("Iteration ", StringComparison.Ordinal)).Distinct()
            .OrderBy(m => int.Parse(m["Iteration ".Length..], CultureInfo.InvariantCulture));
        var methods = Methods.Concat(iterations).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"Test accuracy (%) on the held-out domain, mean ± standard error over {result.Options.Seeds} seed(s); model selection on the training domains' validation splits.");
        text.AppendLine();
        text.AppendLine("| method | " + string.Join(" | ", domains.Select(d => $"{d}°")) + " | avg |");
        text.AppendLine("|---|" + string.Concat(domains.Select(_ => "---:|")) + "---:|");
        foreach (var method in methods)
        {
            var cells = domains.Select(d => Cell(result.Scores.Where(s => s.Method == method && s.TestDomain == d).Select(s => s.Accuracy).ToList()));
            // The average over domains, per seed, then mean ± SE over seeds.
            var perSeed = result.Scores.Where(s => s.Method == method).GroupBy(s => s.Seed)
                .Where(g => g.Count() == domains.Count).Select(g => g.Average(s => s.Accuracy)).ToList();
            text.AppendLine(CultureInfo.InvariantCulture, $"| {method} | {string.Join(" | ", cells)} | {Cell(perSeed)} |");
        }

        text.AppendLine();
        text.AppendLine("The three conditions for averaging, round 1 of DiWA (mean over seeds): members' accuracy, diversity, linear connectivity of members 0 and 1 (validation split).");
        text.AppendLine();
        text.AppendLine("| held-out domain | members test acc | members val acc | disagreement | ratio-error | midpoint acc | endpoints mean acc |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var d in domains)
        {
            var c = result.Conditions.Where(x => x.TestDomain == d).ToList();
            if (c.Count == 0)
            {
                continue;
            }

            string Mean(Func<SoupsConditions, double?> f, double scale = 100) =>
                c.Select(f).OfType<double>().ToList() is { Count: > 0 } v ? (scale * v.Average()).ToString("F2", CultureInfo.InvariantCulture) : "-";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {d}° | {Mean(x => x.MembersMeanTest)} | {Mean(x => x.MembersMeanValidation)} | {Mean(x => x.Disagreement)} | {Mean(x => x.RatioError, 1)} | {Mean(x => x.MidpointAccuracy)} | {Mean(x => x.EndpointMeanAccuracy)} |");
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Took {TimeSpan.FromSeconds(Math.Round(result.Seconds)):g} on {result.Machine}.");
        return text.ToString();
    }

    /// <summary>The result as indented JSON.</summary>
    public static string Json(SoupsBenchmarkResult result) => JsonSerializer.Serialize(result, ResultJson);

    /// <summary>How every benchmark writes its result as JSON: web names, indented.</summary>
    internal static readonly JsonSerializerOptions ResultJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Mean ± standard error (sample standard deviation / √n), times <paramref name="scale"/> (100: percent) with
    /// <paramref name="digits"/> decimals; the mean alone for one value.
    /// </summary>
    public static string Cell(IReadOnlyList<double> values, double scale = 100, int digits = 1)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return "-";
        }

        var mean = values.Average();
        if (values.Count == 1)
        {
            return (scale * mean).ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        var se = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1) / values.Count);
        var format = "F" + digits.ToString(CultureInfo.InvariantCulture);
        return $"{(scale * mean).ToString(format, CultureInfo.InvariantCulture)} ± {(scale * se).ToString(format, CultureInfo.InvariantCulture)}";
    }

    /// <summary>The machine, for the results: cores, OS, .NET, TorchSharp on the CPU.</summary>
    internal static string Machine() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, TorchSharp CPU");
}
