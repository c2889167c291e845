using System.CommandLine;
using Soup.Merging.Checkpoints;
using Soup.Benchmarks;
using Soup.Local;

namespace Soup.Cli.Commands;

/// <summary><c>pipeline bench merge</c>: synthetic checkpoints, the merge, and baselines run side by side.</summary>
public static class BenchCommand
{
    /// <summary>Builds <c>bench</c> with its <c>merge</c> sub-command.</summary>
    public static Command Build()
    {
        var members = new Option<int>("--members") { Description = "How many member checkpoints.", DefaultValueFactory = _ => 4 };
        var size = new Option<string>("--size") { Description = "Size of each member, e.g. 1GB or 256MB.", DefaultValueFactory = _ => "1GB" };
        var dtype = new Option<string>("--dtype") { Description = "Storage dtype of the synthetic tensors.", DefaultValueFactory = _ => "F32" };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions of each contender (medians are reported; the engine's first, cold run on its own line).", DefaultValueFactory = _ => 3 };
        var workDir = new Option<string?>("--work-dir") { Description = "Where the synthetic files go (default: a temporary folder)." };
        var noPython = new Option<bool>("--no-python") { Description = "Skip the numpy and PyTorch baselines." };
        var blob = new Option<bool>("--blob") { Description = "Also merge blob to blob on the configured storage (Azurite locally) next to a plain download + upload." };
        var budget = new Option<string>("--memory-budget") { Description = "The merge's memory budget, e.g. 256MB, or none.", DefaultValueFactory = _ => "256MB" };
        var keep = new Option<bool>("--keep-files") { Description = "Keep the synthetic members in --work-dir (and reuse ones of the same shape found there)." };
        var noDurable = new Option<bool>("--no-durable") { Description = "Skip the durable-write comparison (cat + dd conv=fsync against the merge with fsync, in process and as a pipeline merge process)." };
        var merge = new Command("merge", "Benchmark the merge: seconds, GB/s and peak memory, with ratios against cat/cp, numpy memmap and PyTorch run side by side.")
        {
            members, size, dtype, repeats, workDir, noPython, blob, budget, noDurable, keep,
        };
        merge.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = LocalConfiguration.Build(null, 0);
            await MergeBenchmark.RunAsync(
                new MergeBenchmarkOptions
                {
                    Members = parse.GetValue(members),
                    MemberBytes = ByteSize.Parse(parse.GetValue(size)!),
                    Dtype = SafetensorsDtypes.ParseHeaderName(parse.GetValue(dtype)!.ToUpperInvariant()),
                    Repeats = parse.GetValue(repeats),
                    WorkDirectory = parse.GetValue(workDir),
                    PythonBaselines = !parse.GetValue(noPython),
                    BlobConnectionString = parse.GetValue(blob) ? configuration["SoupStorage"] : null,
                    MemoryBudgetBytes = ByteSize.ParseBudget(parse.GetValue(budget)!),
                    Durable = !parse.GetValue(noDurable),
                    KeepFiles = parse.GetValue(keep),
                    MergeProcess = PipelineProcess(),
                },
                Console.Out,
                cancellationToken);
            return 0;
        });
        return new Command("bench", "Benchmarks that print figures.") { merge, BuildTrain(), BuildRounds(), BuildSoups(), BuildWarm(), BuildRl(), BuildEvaluate() };
    }

    /// <summary>How to start this program again: its apphost, or <c>dotnet pipeline.dll</c>.</summary>
    private static string[]? PipelineProcess()
    {
        var host = Environment.ProcessPath;
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        if (host is null)
        {
            return null;
        }

        return Path.GetFileNameWithoutExtension(host) == "dotnet" && entry is { Length: > 0 } ? [host, entry] : [host];
    }

    private static Command BuildSoups()
    {
        var quick = new Option<bool>("--quick") { Description = "The quick protocol (≤ 5 min on 2 cores): one seed, fewer members and steps. Default: the standard one (≤ 45 min)." };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds per held-out domain." };
        var domains = new Option<string?>("--test-domains") { Description = "Comma-separated held-out domains (default: 0,15,30,45,60,75, each in turn)." };
        var members = new Option<int?>("--members") { Description = "Members per round." };
        var steps = new Option<int?>("--steps") { Description = "Steps per member." };
        var rounds = new Option<int?>("--rounds") { Description = "Rounds of the iterated soup." };
        var workers = new Option<int>("--workers") { Description = "Job workers in this process.", DefaultValueFactory = _ => 2 };
        var dataRoot = new Option<string?>("--data-root") { Description = "Folder holding fashion-mnist/ (default: the DataRoot setting)." };
        var dataset = new Option<string>("--dataset") { Description = "Dataset folder name under the data root.", DefaultValueFactory = _ => "fashion-mnist" };
        var markdown = new Option<FileInfo?>("--output") { Description = "Also write the tables as Markdown to this file." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write every score as JSON to this file." };
        var command = new Command("soups", "Benchmark the recipes on rotated Fashion-MNIST (DomainBed protocol, leave one domain out): ERM, MA, ensemble, DiWA uniform and greedy, Ratatouille, iterations.")
        {
            quick, seeds, domains, members, steps, rounds, workers, dataRoot, dataset, markdown, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var preset = parse.GetValue(quick) ? SoupsBenchmarkOptions.Quick : SoupsBenchmarkOptions.Standard;
            var options = preset with
            {
                Seeds = parse.GetValue(seeds) ?? preset.Seeds,
                TestDomains = parse.GetValue(domains) is { } d ? [.. d.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : preset.TestDomains,
                Members = parse.GetValue(members) ?? preset.Members,
                Steps = parse.GetValue(steps) ?? preset.Steps,
                Rounds = parse.GetValue(rounds) ?? preset.Rounds,
                Dataset = parse.GetValue(dataset)!,
            };
            var configuration = LocalConfiguration.Build(parse.GetValue(dataRoot), parse.GetValue(workers), SoupsBenchmark.EngineSettings());
            if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } problem)
            {
                Console.Out.WriteLine(problem);
                return 3;
            }

            SoupsBenchmarkResult result;
            try
            {
                result = await SoupsBenchmark.RunAsync(options, configuration, Console.Out, cancellationToken);
            }
            finally
            {
                // Its task hub, container and queues are its own: gigabytes of checkpoints per run otherwise stay in Azurite.
                await LocalEngine.DeleteStorageAsync(configuration, CancellationToken.None);
            }

            if (parse.GetValue(markdown) is { } md)
            {
                await File.WriteAllTextAsync(md.FullName, SoupsBenchmark.Markdown(result), cancellationToken);
            }

            if (parse.GetValue(json) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, SoupsBenchmark.Json(result), cancellationToken);
            }

            return 0;
        });
        return command;
    }

    private static Command BuildWarm()
    {
        var quick = new Option<bool>("--quick") { Description = "The quick protocol (≤ 10 min on 2 cores): 3 seeds, 4 reward models of 120 steps on 1,000 pairs. Default: the standard one (≤ 45 min)." };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds (each makes its own pairs and pipeline)." };
        var members = new Option<int?>("--members") { Description = "Reward models averaged." };
        var steps = new Option<int?>("--steps") { Description = "Steps per reward model." };
        var pairs = new Option<int?>("--train-pairs") { Description = "Training pairs per seed." };
        var noise = new Option<double?>("--noise") { Description = "The share of training labels flipped, in [0, 0.5]." };
        var reward = new Option<string?>("--reward") { Description = "The gold reward that labels the pairs (conciseness, the default; positivity; lexical-diversity)." };
        var corpus = new Option<string?>("--corpus") { Description = "The text corpus (default: Debian's fortunes, /usr/share/games/fortunes)." };
        var shifted = new Option<string?>("--shifted-topics")
        {
            Description = "Comma-separated files of the corpus whose texts are the shifted prompts; each pipeline then makes its own pairs from the other files (default: science,literature,riddles). 'none': pairs cut by the benchmark, no shifted split, the init a briefly trained reward model.",
        };
        var workers = new Option<int>("--workers") { Description = "Job workers in this process.", DefaultValueFactory = _ => 2 };
        var workDir = new Option<string?>("--work-dir") { Description = "Where the pairs are written (the engine's data root; default: a new temporary folder, deleted after)." };
        var markdown = new Option<FileInfo?>("--output") { Description = "Also write the tables as Markdown to this file." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write every score as JSON to this file." };
        var command = new Command("warm", "Benchmark WARM on English text: GPT-2 reward models on noisy preference pairs; the best one, their weight average and their ensemble on pairs with gold labels.")
        {
            quick, seeds, members, steps, pairs, noise, reward, corpus, shifted, workers, workDir, markdown, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var preset = parse.GetValue(quick) ? WarmBenchmarkOptions.Quick : WarmBenchmarkOptions.Standard;
            var options = preset with
            {
                Seeds = parse.GetValue(seeds) ?? preset.Seeds,
                Members = parse.GetValue(members) ?? preset.Members,
                Steps = parse.GetValue(steps) ?? preset.Steps,
                TrainPairs = parse.GetValue(pairs) ?? preset.TrainPairs,
                Noise = parse.GetValue(noise) ?? preset.Noise,
                Reward = parse.GetValue(reward) ?? preset.Reward,
                Corpus = parse.GetValue(corpus) ?? preset.Corpus,
                ShiftedTopics = parse.GetValue(shifted) switch
                {
                    null => preset.ShiftedTopics,
                    "none" => null,
                    var list => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                },
            };
            return await RunOnTextAsync(
                "warm", parse.GetValue(workDir), parse.GetValue(workers), parse.GetValue(markdown), parse.GetValue(json),
                (configuration, root, ct) => WarmBenchmark.RunAsync(options, configuration, root, Console.Out, ct), WarmBenchmark.Markdown, WarmBenchmark.Json,
                cancellationToken);
        });
        return command;
    }

    private static Command BuildRl()
    {
        var quick = new Option<bool>("--quick") { Description = "The quick protocol (≤ 10 min on 2 cores): 2 seeds, short RL runs. Default: the standard one (≤ 60 min)." };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds (each runs its own RL fine-tunings, pairs and reward models)." };
        var steps = new Option<int?>("--steps") { Description = "RLOO steps per policy (WARM then RL runs twice as many)." };
        var rewards = new Option<string?>("--rewards") { Description = "The two gold rewards of rewarded soups, comma-separated; the first is WARM's and WARP's (default: conciseness,conciseness-10)." };
        var corpus = new Option<string?>("--corpus") { Description = "The text corpus (default: Debian's fortunes, /usr/share/games/fortunes)." };
        var parts = new Option<string?>("--parts") { Description = "Comma-separated parts to run: soups (rewarded soups vs MORL), warm (WARM then RL), warp (default: all)." };
        var workers = new Option<int>("--workers") { Description = "Job workers in this process.", DefaultValueFactory = _ => 2 };
        var workDir = new Option<string?>("--work-dir") { Description = "Where the pairs are written (the engine's data root; default: a new temporary folder, deleted after)." };
        var markdown = new Option<FileInfo?>("--output") { Description = "Also write the tables as Markdown to this file." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write every score as JSON to this file." };
        var command = new Command("rl", "Benchmark the alignment recipes on GPT-2 (CPU size): rewarded soups vs MORL, WARM then RL (reward hacking), WARP iterations.")
        {
            quick, seeds, steps, rewards, corpus, parts, workers, workDir, markdown, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var preset = parse.GetValue(quick) ? RlBenchmarkOptions.Quick : RlBenchmarkOptions.Standard;
            var options = preset with
            {
                Seeds = parse.GetValue(seeds) ?? preset.Seeds,
                RlSteps = parse.GetValue(steps) ?? preset.RlSteps,
                Rewards = parse.GetValue(rewards) is { } r ? [.. r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : preset.Rewards,
                Corpus = parse.GetValue(corpus) ?? preset.Corpus,
                Parts = parse.GetValue(parts) is { } p ? [.. p.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : null,
            };
            if (options.Rewards is { Count: not 2 })
            {
                Console.Error.WriteLine("bench rl: --rewards takes two gold rewards, e.g. conciseness,positivity");
                return 2;
            }

            if (options.Parts is { } chosen && (chosen.Count == 0 || chosen.FirstOrDefault(x => !RlBenchmarkOptions.AllParts.Contains(x)) is not null))
            {
                Console.Error.WriteLine($"bench rl: --parts takes some of {string.Join(", ", RlBenchmarkOptions.AllParts)}, comma-separated; got '{string.Join(",", chosen)}'");
                return 2;
            }

            return await RunOnTextAsync(
                "rl", parse.GetValue(workDir), parse.GetValue(workers), parse.GetValue(markdown), parse.GetValue(json),
                (configuration, root, ct) => RlBenchmark.RunAsync(options, configuration, root, Console.Out, ct), RlBenchmark.Markdown, RlBenchmark.Json,
                cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Runs a text benchmark on a local engine whose data root is <paramref name="workDir"/> (default: a temporary folder,
    /// deleted after) and writes its Markdown and JSON when asked. Exit codes: 0 done, 2 input it cannot use (named on
    /// stderr), 3 storage unreachable.
    /// </summary>
    private static async Task<int> RunOnTextAsync<T>(
        string name, string? workDir, int workers, FileInfo? markdown, FileInfo? json, Func<Microsoft.Extensions.Configuration.IConfiguration, string, CancellationToken, Task<T>> run,
        Func<T, string> toMarkdown, Func<T, string> toJson, CancellationToken cancellationToken)
    {
        var root = workDir ?? Directory.CreateTempSubdirectory($"bench-{name}-").FullName;
        try
        {
            var configuration = LocalConfiguration.Build(root, workers, SoupsBenchmark.EngineSettings(name));
            if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } problem)
            {
                Console.Out.WriteLine(problem);
                return 3;
            }

            T result;
            try
            {
                result = await run(configuration, root, cancellationToken);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidDataException or DirectoryNotFoundException)
            {
                Console.Error.WriteLine($"bench {name}: {ex.Message.ReplaceLineEndings(" ")}");
                return 2;
            }
            finally
            {
                await LocalEngine.DeleteStorageAsync(configuration, CancellationToken.None);
            }

            if (markdown is not null)
            {
                await File.WriteAllTextAsync(markdown.FullName, toMarkdown(result), cancellationToken);
            }

            if (json is not null)
            {
                await File.WriteAllTextAsync(json.FullName, toJson(result), cancellationToken);
            }

            return 0;
        }
        finally
        {
            if (workDir is null)
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static Command BuildEvaluate()
    {
        var model = new Option<string>("--model") { Description = "The model of the synthetic checkpoints.", DefaultValueFactory = _ => "resnet18" };
        var counts = new Option<string>("--checkpoints") { Description = "Comma-separated checkpoint counts, one evaluation each.", DefaultValueFactory = _ => "4,32" };
        var examples = new Option<int>("--examples") { Description = "Examples in the split.", DefaultValueFactory = _ => 128 };
        var command = new Command("evaluate", "Benchmark an evaluation's memory: peak RSS reading checkpoints one at a time against all at once, for several checkpoint counts.")
        {
            model, counts, examples,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var parts = parse.GetValue(counts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var values = parts.Select(v => int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1).ToArray();
            if (values.Any(v => v < 0))
            {
                Console.Out.WriteLine($"bench evaluate: --checkpoints '{parse.GetValue(counts)}' is not a comma-separated list of counts, e.g. 4,32.");
                return Task.FromResult(2);
            }

            return EvaluateBenchmark.ExecuteAsync(new EvaluateBenchmarkOptions(parse.GetValue(model)!, values, parse.GetValue(examples)), Console.Out, cancellationToken);
        });
        return command;
    }

    private static Command BuildRounds()
    {
        var members = new Option<string>("--members") { Description = "Comma-separated member counts, one pipeline each.", DefaultValueFactory = _ => "8,64" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds per pipeline.", DefaultValueFactory = _ => 3 };
        var finished = new Option<string>("--finished")
        {
            Description = "Comma-separated counts of finished pipelines (64 members each) present in the container while timing, e.g. 0,50.",
            DefaultValueFactory = _ => "0",
        };
        var command = new Command("rounds", "Benchmark the orchestration: seconds per round with instant no-op jobs on the local engine (Azurite).")
        {
            members, rounds, finished,
        };
        command.SetAction((parse, cancellationToken) => RoundsBenchmark.ExecuteAsync(
            Counts(parse.GetValue(members)!),
            parse.GetValue(rounds),
            Console.Out,
            cancellationToken,
            Counts(parse.GetValue(finished)!)));
        return command;
    }

    private static List<int> Counts(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture))];

    private static Command BuildTrain()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated model names.", DefaultValueFactory = _ => "cnn-small,domainbed-mnist" };
        var batch = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "Steps per timed run.", DefaultValueFactory = _ => 200 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs of each contender, alternating (medians are reported).", DefaultValueFactory = _ => 3 };
        var dataRoot = new Option<string?>("--data-root") { Description = "Folder holding fashion-mnist/ (default: the DataRoot setting)." };
        var train = new Command("train", "Benchmark training: images/s (tokens/s for gpt2-tiny, distilgpt2, gpt2, and sampling) of the full path next to a bare TorchSharp loop, same model, same process.")
        {
            models, batch, steps, repeats, dataRoot,
        };
        train.SetAction((parse, cancellationToken) =>
        {
            var configuration = LocalConfiguration.Build(parse.GetValue(dataRoot), 0);
            var options = new TrainBenchmarkOptions(
                [.. parse.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                parse.GetValue(batch),
                parse.GetValue(steps),
                parse.GetValue(repeats),
                LocalConfiguration.Worker(configuration).DataRoot);
            return Task.FromResult(TrainBenchmark.Execute(options, Console.Out, cancellationToken));
        });
        return train;
    }
}
