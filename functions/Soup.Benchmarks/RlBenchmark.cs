using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Local;
using Soup.Merging;
using Soup.Orchestration;
using Soup.Reports;
using Soup.Training.Text;

namespace Soup.Benchmarks;

/// <summary>The settings of <c>pipeline bench rl</c>: the standard protocol, or the quick one.</summary>
/// <param name="Seeds">Seeds: each runs its own RL fine-tunings, preference pairs and reward models from the shared init.</param>
/// <param name="PretrainSteps">Steps of the shared language model (pretrained once, on the corpus, from scratch).</param>
/// <param name="RlSteps">RLOO steps of every RL fine-tuning.</param>
/// <param name="MaxNewTokens">The most tokens a completion gets.</param>
/// <param name="Prompts">Held-out prompts each evaluated model completes.</param>
/// <param name="Morl">The λ of the MORL baselines (the sweep of the soups has 5 points).</param>
/// <param name="RewardModels">Reward models averaged by WARM.</param>
/// <param name="RewardModelSteps">Steps of each reward model.</param>
/// <param name="Pairs">Training pairs of the reward models (25 % of their labels flipped).</param>
/// <param name="WarpRounds">WARP's iterations.</param>
/// <param name="Rewards">The two gold rewards of rewarded soups; the first is WARM's and WARP's.</param>
/// <param name="Model">The policies' and reward models' size.</param>
/// <param name="Corpus">The text corpus (prompts, pretraining, pairs).</param>
/// <param name="Concurrency">Pipelines run at once.</param>
/// <param name="Parts">Which of <see cref="AllParts"/> run (null: all). Without <c>soups</c>, seed 0's WARP pipeline pretrains the shared language model (the same pretraining job, so the same init).</param>
public sealed record RlBenchmarkOptions(
    int Seeds, int PretrainSteps, int RlSteps, int MaxNewTokens, int Prompts, IReadOnlyList<double> Morl, int RewardModels, int RewardModelSteps, int Pairs,
    int WarpRounds, IReadOnlyList<string>? Rewards = null, string Model = "gpt2-tiny", string Corpus = "/usr/share/games/fortunes", int Concurrency = 2,
    IReadOnlyList<string>? Parts = null)
{
    /// <summary>The parts: rewarded soups vs MORL, WARM then RL, WARP.</summary>
    public static IReadOnlyList<string> AllParts { get; } = ["soups", "warm", "warp"];

    /// <summary>Whether part <paramref name="part"/> runs.</summary>
    public bool Runs(string part) => Parts is null || Parts.Contains(part);

    /// <summary>The η of WARP's step back toward the init: the delivered one.</summary>
    public const double WarpEta = 0.5;

    /// <summary>The other η scored every WARP iteration (<c>soup.towardInitSweep</c>); the SLERP itself is η = 1.</summary>
    public static IReadOnlyList<double> WarpEtaSweep { get; } = [0.25, 0.75];

    /// <summary>The two rewards in effect.</summary>
    public IReadOnlyList<string> EffectiveRewards => Rewards is { Count: 2 } r ? r : [GoldRewards.ConcisenessName, DefaultSecondReward];

    /// <summary>
    /// The second reward by default: closeness to 10 words, against the first's 20. Both move under RL at this size (the
    /// policy learns where to stop); positivity stays at 0 (no sentiment word in the samples of a model this small) and
    /// lexical diversity at 1 (no repeated word in 24 tokens), which give RLOO no signal.
    /// </summary>
    public const string DefaultSecondReward = "conciseness-10";

    /// <summary>The standard protocol (target ≤ 60 min on 2 cores).</summary>
    public static RlBenchmarkOptions Standard { get; } = new(3, 120, 40, 24, 24, [0.25, 0.5, 0.75], 4, 120, 1000, 3);

    /// <summary>The quick protocol (target ≤ 10 min on 2 cores; measured 10 min 41 s): a smoke run, too short for RL to move the rewards much.</summary>
    public static RlBenchmarkOptions Quick { get; } = new(2, 40, 12, 24, 12, [0.5], 3, 50, 400, 2);
}

/// <summary>Rewarded soups against MORL on one seed: each front's hypervolume above the seed's shared reference point, and every point.</summary>
public sealed record RlFrontScore(int Seed, double SoupsHypervolume, double MorlHypervolume, IReadOnlyList<FrontPoint> Points);

/// <summary>One RL fine-tuning against a reward model on one seed, with the gold reward it approximates tracked over its steps.</summary>
/// <param name="Proxy">Which reward model: the best single one, or WARM.</param>
/// <param name="ProxyFirst">The proxy reward at the first point of the curve.</param>
/// <param name="ProxyLast">At the last.</param>
/// <param name="GoldFirst">The gold reward at the first point.</param>
/// <param name="GoldPeak">Its highest point.</param>
/// <param name="GoldPeakStep">The step of that point.</param>
/// <param name="GoldLast">At the last point.</param>
/// <param name="GoldHeldOut">The final policy's gold reward on held-out prompts (the round's generation evaluation).</param>
/// <param name="KlLast">The KL to the anchor at the last point.</param>
public sealed record RlHackingScore(
    int Seed, string Proxy, double ProxyFirst, double ProxyLast, double GoldFirst, double GoldPeak, int GoldPeakStep, double GoldLast, double GoldHeldOut, double KlLast);

/// <summary>
/// One WARP iteration on one seed, on held-out prompts: the soup's reward (η = 0.5 toward the iteration's init) and
/// the SLERP's before that step (η = 1), each with its KL to the first init; the members' mean reward.
/// </summary>
public sealed record RlWarpScore(int Seed, int Round, double Reward, double? KlToFirstInit, double SlerpReward, double? SlerpKlToFirstInit, double MembersReward)
{
    /// <summary>The other η of the sweep: each LITI model's reward and KL to the first init (null: results from before the sweep).</summary>
    public IReadOnlyList<RlEtaPoint>? Sweep { get; init; }
}

/// <summary>One LITI model of WARP's η sweep: its η, reward and KL to the first init.</summary>
public sealed record RlEtaPoint(double Eta, double Reward, double? KlToFirstInit);

/// <summary>Everything <c>pipeline bench rl</c> measured.</summary>
public sealed record RlBenchmarkResult(
    RlBenchmarkOptions Options, IReadOnlyList<RlFrontScore> Fronts, IReadOnlyList<RlHackingScore> Hacking, IReadOnlyList<RlWarpScore> Warp,
    IReadOnlyList<WarmScore> RewardModels, double Seconds, string Machine);

/// <summary>
/// <c>pipeline bench rl</c>: the alignment recipes on the CPU-sized GPT-2, each a real pipeline (TorchSharp workers,
/// Azurite, the Durable engine). A language model is pretrained once on the corpus; then per seed: (1) rewarded soups:
/// one RLOO policy per reward, the λ sweep of their weights, against MORL (one RL run per λ on the weighted reward),
/// compared by hypervolume on the rewards of held-out completions; (2) WARM then RL: reward models trained on noisy
/// preferences of the first gold reward, then one RL run against the best single reward model and one against their
/// weight average, the gold reward tracked over the steps (reward hacking); (3) WARP: RL policies with an EMA anchor,
/// SLERP, back toward the init, iterated. Mean ± standard error over seeds.
/// </summary>
public static class RlBenchmark
{
    private const string BestRm = "best-rm";
    private const string WarmRm = "warm-rm";

    /// <summary>Runs the benchmark with its datasets under <paramref name="dataRoot"/> and returns its result (also printed as it goes).</summary>
    public static async Task<RlBenchmarkResult> RunAsync(
        RlBenchmarkOptions options, IConfiguration configuration, string dataRoot, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var clock = Stopwatch.StartNew();
        var rewards = options.EffectiveRewards;
        foreach (var reward in rewards)
            GoldRewards.Get(reward); // an unknown name is refused before anything runs
        var corpus = new DirectoryInfo(options.Corpus);
        var documents = TextCorpus.Read(options.Corpus).Documents;
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        var warmOptions = WarmOptions(options);
        for (var seed = 0; seed < options.Seeds && options.Runs("warm"); seed++)
            WarmBenchmark.WriteData(warmOptions, documents, tokenizer, GoldRewards.Get(rewards[0]), dataRoot, seed);
        var text = Path.Combine(dataRoot, "rl-corpus"); // the corpus as the engine's text dataset
        if (!Directory.Exists(text))
            Directory.CreateSymbolicLink(text, corpus.FullName);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RL on {options.Corpus} ({documents.Count} documents; rewards {rewards[0]}, {rewards[1]}): {options.Seeds} seed(s), {options.Model} pretrained {options.PretrainSteps} steps, RLOO {options.RlSteps} steps, {configuration["InProcessWorkers"]} worker(s), {Environment.ProcessorCount} cores"));
        await using var engine = await LocalEngine.StartAsync(configuration, cancellationToken: cancellationToken);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        Task<PipelineResult> Run(PipelineSpec spec) => SoupsBenchmark.RunPipelineAsync(engine.Client, engine.Specs, storage, spec, cancellationToken);
        void Say(string line)
        {
            lock (output)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed:hh\\:mm\\:ss}] {line}"));
        }

        // The shared language model: seed 0's rewarded-soups pipeline pretrains it (or, without that part, seed 0's WARP
        // pipeline: the same pretraining job), every other pipeline starts from it.
        var fronts = new List<RlFrontScore>();
        var warp = new List<RlWarpScore>();
        string init;
        if (options.Runs("soups"))
        {
            var first = await Run(RewardedSpec(options, 0, init: null));
            init = first.Rounds[0].Init;
            fronts.Add(Front(first.Rounds[0], 0));
            Say($"pretrained {init}");
            Say(FrontLine(fronts[0]));
        }
        else
        {
            var first = await Run(WarpSpec(options, 0, init: null));
            init = first.Rounds[0].Init;
            warp.AddRange(first.Rounds.Select(r => Warp(r, 0, rewards[0])));
            Say($"pretrained {init}");
            Say(WarpLine(warp, 0));
        }

        var hacking = new List<RlHackingScore>();
        var rewardModels = new List<WarmScore>();
        using var gate = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        async Task Gated(Func<Task> work)
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                await work();
            }
            finally
            {
                gate.Release();
            }
        }

        var work = new List<Task>();
        for (var s = 0; s < options.Seeds; s++)
        {
            var seed = s;
            if (seed > 0 && options.Runs("soups"))
            {
                work.Add(Gated(async () =>
                {
                    var score = Front((await Run(RewardedSpec(options, seed, init))).Rounds[0], seed);
                    lock (fronts)
                        fronts.Add(score);
                    Say(FrontLine(score));
                }));
            }

            work.Add(!options.Runs("warm") ? Task.CompletedTask : Gated(async () =>
            {
                var warm = (await Run(WarmBenchmark.Spec(warmOptions, seed))).Rounds[0];
                lock (rewardModels)
                    rewardModels.AddRange(WarmBenchmark.Scores(warm, seed).Scores);
                var best = warm.Variants!.Single(v => v.Name == "erm").Checkpoint!;
                var averaged = warm.Variants!.Single(v => v.Name == "uniform").Checkpoint!;
                var rl = (await Run(HackingSpec(options, seed, init, best, averaged))).Rounds[0];
                var scores = Hacking(rl, seed, rewards[0]);
                lock (hacking)
                    hacking.AddRange(scores);
                Say($"seed {seed}, WARM then RL: " + string.Join("; ", scores.Select(x => string.Create(CultureInfo.InvariantCulture,
                    $"{x.Proxy}: proxy {x.ProxyFirst:F3} → {x.ProxyLast:F3}, gold {x.GoldFirst:F3} → peak {x.GoldPeak:F3} (step {x.GoldPeakStep}) → {x.GoldLast:F3}"))));
            }));
            work.Add(!options.Runs("warp") || (seed == 0 && !options.Runs("soups")) ? Task.CompletedTask : Gated(async () =>
            {
                var result = await Run(WarpSpec(options, seed, init));
                lock (warp)
                {
                    warp.AddRange(result.Rounds.Select(r => Warp(r, seed, rewards[0])));
                    Say(WarpLine(warp, seed));
                }
            }));
        }

        await Task.WhenAll(work);
        var measured = new RlBenchmarkResult(
            options, [.. fronts.OrderBy(f => f.Seed)], [.. hacking.OrderBy(h => h.Seed).ThenBy(h => h.Proxy, StringComparer.Ordinal)],
            [.. warp.OrderBy(w => w.Seed).ThenBy(w => w.Round)], [.. rewardModels.OrderBy(r => r.Seed)], clock.Elapsed.TotalSeconds, SoupsBenchmark.Machine());
        output.WriteLine();
        output.Write(Markdown(measured));
        return measured;
    }

    private static string WarpLine(IEnumerable<RlWarpScore> scores, int seed) => $"seed {seed}, WARP: " + string.Join("; ", scores.Where(x => x.Seed == seed).Select(x => string.Create(
        CultureInfo.InvariantCulture, $"round {x.Round} reward {x.Reward:F3} KL to the first init {x.KlToFirstInit:F3}")));

    /// <summary>The reward models' protocol: WARM's, at this benchmark's sizes.</summary>
    public static WarmBenchmarkOptions WarmOptions(RlBenchmarkOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new WarmBenchmarkOptions(
            o.Seeds, o.Pairs, Math.Max(100, o.Pairs / 4), 0.25, o.RewardModels, o.RewardModelSteps, Math.Max(20, o.RewardModelSteps / 3), Math.Max(100, o.Pairs / 4),
            o.EffectiveRewards[0], o.Model, o.Corpus) { };
    }

    /// <summary>The RL settings every fine-tuning of the benchmark shares (the reward aside).</summary>
    private static RlTraining Rl(RlBenchmarkOptions o, IReadOnlyList<string>? track = null, double? anchorDecay = null) => new()
    {
        Samples = 4,
        KlCoefficient = 0.05,
        PromptsPerStep = 4,
        PromptTokens = WarmBenchmarkOptions.PromptTokens,
        MaxNewTokens = o.MaxNewTokens,
        AnchorDecay = anchorDecay,
        Track = track,
    };

    private static PipelineSpec Base(RlBenchmarkOptions o, string name, int seed, string? init, int rounds = 1) => new()
    {
        Name = name,
        Seed = seed,
        Rounds = rounds,
        Model = o.Model,
        Data = new DataSpec { Dataset = "rl-corpus", Layout = DataLayouts.Text, ValidationFraction = 0.1, EvalSplit = "validation", EvalLimit = 8 }, // next-token accuracy is not what this measures
        Init = init is null ? new InitSpec { PretrainSteps = o.PretrainSteps, LearningRate = 1e-3 } : new InitSpec { Checkpoint = init },
        Evaluation = new EvaluationSpec
        {
            Generation = Generation(o, o.EffectiveRewards),
        },
        RoundTimeout = TimeSpan.FromHours(1),
    };

    /// <summary>What every evaluation samples: the held-out prompts, scored on <paramref name="rewards"/>, the KL to <paramref name="klTo"/>.</summary>
    private static GenerationSpec Generation(RlBenchmarkOptions o, IReadOnlyList<string> rewards, string klTo = GenerationReferences.RoundInit) => new()
    {
        Prompts = o.Prompts, PromptTokens = WarmBenchmarkOptions.PromptTokens, MaxNewTokens = o.MaxNewTokens, Rewards = [.. rewards], Keep = 2, KlTo = klTo,
    };

    /// <summary>
    /// Two RL policies of <paramref name="steps"/> steps at AdamW 1e-3: each on its own reward of <paramref name="rewardEach"/>
    /// (with seed <paramref name="seed"/>), or both on <paramref name="rl"/>'s reward with their own seeds.
    /// </summary>
    private static MembersSpec TwoPolicies(int steps, RlTraining rl, IReadOnlyList<string>? rewardEach = null, int seed = 0) => new()
    {
        Count = 2,
        Steps = steps,
        BatchSize = 8,
        LearningRates = [1e-3],
        Rl = rl,
        Explicit = rewardEach is null ? null : [.. rewardEach.Select(r => new MemberSettings { Rewards = [new RewardTerm { Reward = r }], Seed = seed })],
    };

    /// <summary>Rewarded soups on seed <paramref name="seed"/>: a policy per reward, the λ sweep of their weights, and the MORL runs.</summary>
    public static PipelineSpec RewardedSpec(RlBenchmarkOptions o, int seed, string? init)
    {
        ArgumentNullException.ThrowIfNull(o);
        var rewards = o.EffectiveRewards;
        return Base(o, "bench-rl-rewarded", seed, init) with
        {
            Recipe = Recipes.Rewarded,
            Members = TwoPolicies(o.RlSteps, Rl(o), rewards, seed),
            Merge = new MergeParameters { Method = "linear" },
            Soup = new SoupSpec { Interpolation = new InterpolationSpec { From = 0, To = 1, Points = 5, Morl = o.Morl } },
        };
    }

    /// <summary>WARM then RL on seed <paramref name="seed"/>: one RL run against the best reward model, one against WARM, the gold reward tracked.</summary>
    public static PipelineSpec HackingSpec(RlBenchmarkOptions o, int seed, string init, string bestRewardModel, string warmRewardModel)
    {
        ArgumentNullException.ThrowIfNull(o);
        var gold = o.EffectiveRewards[0];
        return Base(o, "bench-rl-warm", seed, init) with
        {
            RewardModels = [new RewardModel { Name = BestRm, Checkpoint = bestRewardModel }, new RewardModel { Name = WarmRm, Checkpoint = warmRewardModel }],
            Members = TwoPolicies(o.RlSteps * 2, Rl(o, track: [gold, BestRm, WarmRm]), [BestRm, WarmRm], seed),
            Merge = new MergeParameters { Method = "linear" },
            Evaluation = new EvaluationSpec
            {
                Generation = Generation(o, [gold, BestRm, WarmRm]),
            },
        };
    }

    /// <summary>WARP on seed <paramref name="seed"/>: two RL policies with an EMA anchor, SLERP, halfway back to the init, iterated.</summary>
    public static PipelineSpec WarpSpec(RlBenchmarkOptions o, int seed, string? init)
    {
        ArgumentNullException.ThrowIfNull(o);
        return Base(o, "bench-rl-warp", seed, init, o.WarpRounds) with
        {
            Recipe = Recipes.Warp,
            Members = TwoPolicies(o.RlSteps, Rl(o, anchorDecay: 0.9) with { Rewards = [new RewardTerm { Reward = o.EffectiveRewards[0] }] }),
            Merge = new MergeParameters { Method = "nuslerp", T = 0.5 },
            Soup = new SoupSpec { TowardInit = RlBenchmarkOptions.WarpEta, TowardInitSweep = RlBenchmarkOptions.WarpEtaSweep },
            Evaluation = new EvaluationSpec
            {
                Generation = Generation(o, [o.EffectiveRewards[0]], GenerationReferences.FirstInit),
            },
        };
    }

    private static RlFrontScore Front(RoundResult round, int seed)
    {
        var front = GenerationFront.Of(round) ?? throw new InvalidOperationException($"seed {seed}: the rewarded round has no front on generation rewards");
        return new RlFrontScore(seed, front.SoupsHypervolume, front.MorlHypervolume, front.All);
    }

    private static string FrontLine(RlFrontScore score) => string.Create(CultureInfo.InvariantCulture,
        $"seed {score.Seed}, rewarded soups: hypervolume {score.SoupsHypervolume:F4} (soups) vs {score.MorlHypervolume:F4} (MORL)");

    private static List<RlHackingScore> Hacking(RoundResult round, int seed, string gold)
    {
        var list = new List<RlHackingScore>();
        foreach (var member in round.Members.OrderBy(m => m.Member))
        {
            var proxy = member.Member == 0 ? BestRm : WarmRm;
            var generated = round.Generation!.Single(g => g.Checkpoint == member.Checkpoint);
            var curve = generated.Training ?? throw new InvalidOperationException($"seed {seed}: member {member.Member} has no RL curve");
            var (g, p) = (curve.TrackedIndex(gold), curve.TrackedIndex(proxy));
            var peak = curve.Peak(g);
            list.Add(new RlHackingScore(
                seed, proxy == BestRm ? "best reward model" : "WARM", curve.Points[0].Tracked[p], curve.Points[^1].Tracked[p], curve.Points[0].Tracked[g],
                peak.Tracked[g], peak.Step, curve.Points[^1].Tracked[g], generated.Rewards.Single(r => r.Reward == gold).Mean, curve.Points[^1].Kl));
        }

        return list;
    }

    private static RlWarpScore Warp(RoundResult round, int seed, string reward)
    {
        double Reward(GenerationScore g) => g.Rewards.Single(r => r.Reward == reward).Mean;
        var soup = round.Generation!.Single(g => g.Checkpoint == round.Soup);
        var slerp = round.Generation!.Single(g => g.Checkpoint.EndsWith("/soup-merge/" + CheckpointLayout.CheckpointFile, StringComparison.Ordinal));
        var members = round.Generation!.Where(g => round.Members.Any(m => m.Checkpoint == g.Checkpoint)).Select(Reward).ToList();
        // The sweep's other η (soup.towardInitSweep): every LITI variant but the spec's own η.
        var sweep = round.Variants!.Where(v => v.TowardInit is { } eta && eta != RlBenchmarkOptions.WarpEta).Select(v =>
        {
            var g = round.Generation!.Single(x => x.Checkpoint == v.Checkpoint);
            return new RlEtaPoint(v.TowardInit!.Value, Reward(g), g.KlToReference);
        }).ToList();
        return new RlWarpScore(seed, round.Round, Reward(soup), soup.KlToReference, Reward(slerp), slerp.KlToReference, members.Count > 0 ? members.Average() : double.NaN)
        {
            Sweep = sweep,
        };
    }

    /// <summary>The results as Markdown.</summary>
    public static string Markdown(RlBenchmarkResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = result.Options;
        var rewards = o.EffectiveRewards;
        var text = new StringBuilder();
        var seeds = result.Fronts.Count;
        if (seeds > 0)
            Fronts(text, result);
        if (result.Hacking.Count > 0)
            Hacking(text, result);
        if (result.Warp.Count > 0)
            Warp(text, result);
        text.AppendLine(CultureInfo.InvariantCulture, $"Took {TimeSpan.FromSeconds(Math.Round(result.Seconds)):g} on {result.Machine}.");
        return text.ToString();
    }

    private static void Fronts(StringBuilder text, RlBenchmarkResult result)
    {
        var o = result.Options;
        var rewards = o.EffectiveRewards;
        var seeds = result.Fronts.Count;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"**Rewarded soups vs MORL** ({seeds} seed(s); rewards '{rewards[0]}' and '{rewards[1]}' of {o.Prompts} held-out completions of ≤ {o.MaxNewTokens} tokens; RLOO {o.RlSteps} steps per policy; MORL at λ ∈ {{{string.Join(", ", o.Morl.Select(l => l.ToString(CultureInfo.InvariantCulture)))}}}). Hypervolume above the worst score on each reward among the seed's points less a tenth of their range (larger is better):");
        text.AppendLine();
        text.AppendLine("| front | hypervolume |");
        text.AppendLine("|---|---:|");
        text.AppendLine(CultureInfo.InvariantCulture, $"| rewarded soups (2 RL runs + weight interpolation) | {SoupsBenchmark.Cell(result.Fronts.Select(f => f.SoupsHypervolume).ToList(), scale: 1, digits: 4)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| MORL (2 + {o.Morl.Count} RL runs) | {SoupsBenchmark.Cell(result.Fronts.Select(f => f.MorlHypervolume).ToList(), scale: 1, digits: 4)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| soups − MORL | {SoupsBenchmark.Cell(result.Fronts.Select(f => f.SoupsHypervolume - f.MorlHypervolume).ToList(), scale: 1, digits: 4)} |");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Soups' hypervolume ≥ MORL's on {result.Fronts.Count(f => f.SoupsHypervolume >= f.MorlHypervolume)} of {seeds} seed(s). Points of seed 0:");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"| model | λ | {rewards[0]} | {rewards[1]} | KL to init |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var p in result.Fronts.FirstOrDefault()?.Points ?? [])
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Label} | {p.Lambda:0.##} | {p.X:F3} | {p.Y:F3} | {(p.Kl is { } kl ? kl.ToString("F2", CultureInfo.InvariantCulture) : "-")} |");
        }

        text.AppendLine();
    }

    private static void Hacking(StringBuilder text, RlBenchmarkResult result)
    {
        var o = result.Options;
        var rewards = o.EffectiveRewards;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"**WARM then RL** (gold reward '{rewards[0]}'; {o.RewardModels} reward models × {o.RewardModelSteps} steps on {o.Pairs} pairs with 25 % of labels flipped; RL {2 * o.RlSteps} steps against the best single reward model or against WARM, the gold reward tracked on the same completions). Mean ± SE over seeds:");
        text.AppendLine();
        text.AppendLine("| proxy | proxy first → last | gold first | gold peak | peak step | gold last | fall from peak | gold, held-out prompts | KL at the end |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var proxy in result.Hacking.Select(h => h.Proxy).Distinct(StringComparer.Ordinal))
        {
            var rows = result.Hacking.Where(h => h.Proxy == proxy).ToList();
            string C(Func<RlHackingScore, double> f) => SoupsBenchmark.Cell(rows.Select(f).ToList(), scale: 1, digits: 3);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {proxy} | {C(h => h.ProxyFirst)} → {C(h => h.ProxyLast)} | {C(h => h.GoldFirst)} | {C(h => h.GoldPeak)} | {C(h => h.GoldPeakStep)} | {C(h => h.GoldLast)} | {C(h => h.GoldPeak - h.GoldLast)} | {C(h => h.GoldHeldOut)} | {C(h => h.KlLast)} |");
        }

        text.AppendLine();
        text.AppendLine("The reward models' pairwise accuracy on clean held-out pairs (%): " + string.Join(", ", WarmBenchmark.Methods.Select(m =>
            $"{m} {SoupsBenchmark.Cell(result.RewardModels.Where(s => s.Method == m && s.Split == WarmBenchmark.Splits[0]).Select(s => s.Accuracy).ToList())}")) + ".");
        text.AppendLine();
    }

    private static void Warp(StringBuilder text, RlBenchmarkResult result)
    {
        var o = result.Options;
        var rewards = o.EffectiveRewards;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"**WARP** ('{rewards[0]}'; 2 RL policies × {o.RlSteps} steps with an EMA anchor (decay 0.9), SLERP of their task vectors (`nuslerp`), η = 0.5 toward the iteration's init, {o.WarpRounds} iterations; each model's KL to the first init, the reward–KL front across iterations and η). Mean ± SE over {result.Warp.Select(w => w.Seed).Distinct().Count()} seed(s):");
        text.AppendLine();
        text.AppendLine("| iteration | members' mean reward | SLERP (η = 1) reward | its KL to the first init | soup (η = 0.5) reward | its KL to the first init |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var round in result.Warp.Select(w => w.Round).Distinct().Order())
        {
            var rows = result.Warp.Where(w => w.Round == round).ToList();
            string C(Func<RlWarpScore, double> f) => SoupsBenchmark.Cell(rows.Select(f).ToList(), scale: 1, digits: 3);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {round} | {C(w => w.MembersReward)} | {C(w => w.SlerpReward)} | {C(w => w.SlerpKlToFirstInit ?? double.NaN)} | {C(w => w.Reward)} | {C(w => w.KlToFirstInit ?? double.NaN)} |");
        }

        var etas = result.Warp.SelectMany(w => w.Sweep ?? []).Select(p => p.Eta).Append(RlBenchmarkOptions.WarpEta).Append(1).Distinct().Order().ToList();
        if (etas.Count > 2)
        {
            text.AppendLine();
            text.AppendLine("The front across η (every η from the same SLERP of each iteration; η = 1 is the SLERP itself), reward / KL to the first init:");
            text.AppendLine();
            text.AppendLine("| iteration | " + string.Join(" | ", etas.Select(e => string.Create(CultureInfo.InvariantCulture, $"η = {e}"))) + " |");
            text.AppendLine("|---:|" + string.Concat(etas.Select(_ => "---:|")));
            foreach (var round in result.Warp.Select(w => w.Round).Distinct().Order())
            {
                var rows = result.Warp.Where(w => w.Round == round).ToList();
                string Cell(double eta)
                {
                    (double Reward, double Kl)? Of(RlWarpScore w) => eta == 1 ? (w.SlerpReward, w.SlerpKlToFirstInit ?? double.NaN)
                        : eta == RlBenchmarkOptions.WarpEta ? (w.Reward, w.KlToFirstInit ?? double.NaN)
                        : w.Sweep?.FirstOrDefault(p => p.Eta == eta) is { } p ? (p.Reward, p.KlToFirstInit ?? double.NaN) : null;
                    var points = rows.Select(Of).OfType<(double Reward, double Kl)>().ToList();
                    return points.Count == 0 ? "-"
                        : $"{SoupsBenchmark.Cell(points.Select(p => p.Reward).ToList(), scale: 1, digits: 3)} / {SoupsBenchmark.Cell(points.Select(p => p.Kl).ToList(), scale: 1, digits: 2)}";
                }

                text.AppendLine(CultureInfo.InvariantCulture, $"| {round} | {string.Join(" | ", etas.Select(Cell))} |");
            }
        }

        text.AppendLine();
    }

    /// <summary>The result as indented JSON.</summary>
    public static string Json(RlBenchmarkResult result) => JsonSerializer.Serialize(result, SoupsBenchmark.ResultJson);
}
