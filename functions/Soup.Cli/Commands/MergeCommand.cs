using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Soup.Merging.Checkpoints;
using Soup.Merging;
using Soup.Merging.Engine;
using Soup.Core.Storage;
using Soup.Local;

namespace Soup.Cli.Commands;

/// <summary><c>pipeline merge</c>: merge checkpoints from files or blobs with any method, streaming in bounded memory.</summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var inputs = new Argument<string[]>("members") { Description = "Member checkpoints: .safetensors files, sharded folders (model.safetensors.index.json), or blob:<container>/<name>.", Arity = ArgumentArity.ZeroOrMore };
        var config = new Option<string?>("--config", "-c") { Description = "A mergekit YAML config (merge_method, base_model, models with parameters, parameters, dtype, out_dtype) run as it is, instead of members and method options." };
        var output = new Option<string>("--output", "-o") { Description = "Where the merged checkpoint goes (file, folder with --shard-size, or blob:<container>/<name>). Nothing appears there unless the merge succeeds.", Required = true };
        var method = new Option<string>("--method", "-m") { Description = $"One of: {string.Join(", ", MergeMethodFactory.Names)}.", DefaultValueFactory = _ => "linear" };
        var weights = new Option<List<double>?>("--weights", "-w")
        {
            Description = "Comma-separated weight per member (default: equal).",
            CustomParser = ParseWeights,
        };
        var normalize = new Option<bool>("--normalize") { Description = "Divide by the weights (their sum; for ties/dare_ties the elected members'). Default: mergekit's per method (on for linear and ties)." };
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Use the weights as given (linear, ties)." };
        var rescale = new Option<string?>("--rescale") { Description = "How ties' and DARE's kept entries are scaled: l1 (keep each tensor's L1 norm; mergekit's DARE default), density (×1/density) or none (mergekit's TIES default)." };
        var lambda = new Option<double>("--lambda") { Description = "Scale of the summed task vectors (task_arithmetic, ties, dare_*).", DefaultValueFactory = _ => 1.0 };
        var density = new Option<double>("--density") { Description = "Fraction of each task vector kept (ties, dare_*), in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var t = new Option<double>("--t") { Description = "SLERP position in [0, 1] (slerp with --base: from the base to the one member; nuslerp: t = w1/(w0+w1) when --weights are given).", DefaultValueFactory = _ => 0.5 };
        var eta = new Option<double>("--eta") { Description = "Step toward the merged model for liti and ema, in [0, 1].", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<int>("--seed") { Description = "Seed of DARE's random drops." };
        var @base = new Option<string?>("--base", "-b") { Description = "The base/init checkpoint (task vectors are taken relative to it)." };
        var dtype = new Option<string?>("--dtype") { Description = "Output dtype of floating tensors: F16, BF16, F32 or F64 (default: the inputs')." };
        var shardSize = new Option<string?>("--shard-size") { Description = "Write a sharded checkpoint (Hugging Face layout) with shards of at most this size, e.g. 2GB." };
        var chunk = new Option<int?>("--chunk-elements") { Description = "Values per member read at once (memory is about chunk x 4 bytes x (members + 2) x pipeline depth)." };
        chunk.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1 and var c)
                r.AddError($"--chunk-elements must be at least 1, got {c}");
        });
        var budget = new Option<string?>("--memory-budget") { Description = "Most memory the merge's buffers may hold, whatever the member count, e.g. 512MB, or none (default 256MB)." };
        var failOnNonFinite = new Option<bool>("--fail-on-nonfinite") { Description = "Fail (writing nothing) when an input holds NaN or Inf, instead of reporting them." };
        var force = new Option<bool>("--force") { Description = "Let --output name one of the inputs (it is replaced only once the merge has succeeded)." };
        var command = new Command("merge", """
            Merge checkpoints into one, tensor by tensor, in bounded memory.
            Examples:
              pipeline merge a.safetensors b.safetensors c.safetensors -o soup.safetensors
              pipeline merge a.safetensors b.safetensors -m slerp --t 0.3 -o mid.safetensors
              pipeline merge a.safetensors b.safetensors -m nuslerp --base init.safetensors -o warp.safetensors
              pipeline merge m1.safetensors m2.safetensors m3.safetensors -m ties --density 0.2 --base init.safetensors -o ties.safetensors
              pipeline merge blob:checkpoints/p/round-01/member-000/model.safetensors blob:checkpoints/p/round-01/member-001/model.safetensors -o soup/ --shard-size 2GB
              pipeline merge --config ties.yml -o ties.safetensors
            """)
        {
            inputs, config, output, method, weights, normalize, noNormalize, rescale, lambda, density, t, eta, seed, @base, dtype, shardSize, chunk, failOnNonFinite, budget, force,
        };

        command.Validators.Add(r =>
        {
            // An option the command does not know is not a member path (it would be reported as a missing file).
            foreach (var token in r.GetValue(inputs) ?? [])
            {
                if (token.Length > 1 && token[0] == '-' && !double.TryParse(token, CultureInfo.InvariantCulture, out _))
                {
                    r.AddError($"unknown option '{token}' (see pipeline merge --help)");
                    return;
                }
            }

            if (r.GetValue(normalize) && r.GetValue(noNormalize))
                r.AddError("give --normalize or --no-normalize, not both");
            if (r.GetValue(config) is null)
            {
                if (r.GetValue(inputs) is not { Length: > 0 })
                    r.AddError("give the member checkpoints, or a mergekit config with --config");
                return;
            }

            if (r.GetValue(inputs) is { Length: > 0 })
                r.AddError("--config names the models: give no member checkpoints beside it");
            foreach (var option in (Option[])[method, weights, normalize, noNormalize, rescale, lambda, density, t, eta, @base])
            {
                if (r.GetResult(option) is { Implicit: false })
                    r.AddError($"{option.Name} with --config: the config says it (merge_method, base_model, parameters)");
            }
        });



        command.SetAction((parse, cancellationToken) => parse.GetValue(config) is { } configFile
            ? ExecuteConfigAsync(configFile, parse.GetValue(output)!, parse.GetValue(seed), parse.GetValue(dtype), parse.GetValue(shardSize), parse.GetValue(chunk),
                parse.GetValue(failOnNonFinite), parse.GetValue(budget), parse.GetValue(force), cancellationToken)
            : ExecuteAsync(
            new MergeCommandArgs(
                parse.GetValue(inputs)!,
                parse.GetValue(output)!,
                Parameters(
                    parse.GetValue(method)!, parse.GetValue(weights), parse.GetValue(normalize) ? true : parse.GetValue(noNormalize) ? false : null, parse.GetValue(rescale),
                    parse.GetValue(lambda), parse.GetValue(density), parse.GetValue(t), parse.GetValue(eta), parse.GetValue(seed)),
                parse.GetValue(@base),
                parse.GetValue(dtype),
                parse.GetValue(shardSize),
                parse.GetValue(chunk),
                parse.GetValue(failOnNonFinite),
                parse.GetValue(budget),
                parse.GetValue(force)),
            Console.Out,
            Console.Error,
            cancellationToken));
        return command;
    }

    private static MergeParameters Parameters(
        string method, List<double>? weights, bool? normalize, string? rescale, double lambda, double density, double t, double eta, int seed) => new()
    {
        Method = method, Weights = weights is { Count: > 0 } ? weights : null, Normalize = normalize, Rescale = rescale, Lambda = lambda, Density = density, T = t, Eta = eta, Seed = seed,
    };

    /// <summary>
    /// Runs a mergekit config (<see cref="MergekitConfig"/>): its problems are usage errors naming the YAML path (exit 2,
    /// nothing written); what it reads but does not apply is printed as notes; then the merge runs as
    /// <see cref="ExecuteAsync"/> does. <paramref name="dtype"/> overrides the config's out_dtype.
    /// </summary>
    public static async Task<int> ExecuteConfigAsync(
        string configFile, string output, int seed, string? dtype, string? shardSize, int? chunk, bool failOnNonFinite, string? budget, bool force,
        CancellationToken cancellationToken, TextWriter? outputWriter = null, TextWriter? errorWriter = null)
    {
        var (stdout, stderr) = (outputWriter ?? Console.Out, errorWriter ?? Console.Error);
        MergekitPlan plan;
        try
        {
            plan = MergekitConfig.Parse(await File.ReadAllTextAsync(configFile, cancellationToken));
        }
        catch (Exception ex) when (ex is MergekitConfigException or IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"pipeline merge: {configFile}: {OneLine(ex.Message)}");
            return 2;
        }

        foreach (var note in plan.Notes)
            await stderr.WriteLineAsync($"pipeline merge: {configFile}: note: {note}");
        plan.Parameters.Seed = seed;
        return await ExecuteAsync(
            new MergeCommandArgs(plan.Members, output, plan.Parameters, plan.Base, dtype ?? plan.OutputDtype, shardSize, chunk, failOnNonFinite, budget, force, plan.Tensors),
            stdout, stderr, cancellationToken);
    }

    /// <summary>The method the arguments name: per tensor when a config's parameters vary by tensor.</summary>
    private static IMergeMethod Method(MergeCommandArgs args) =>
        args.Tensors is null ? MergeMethodFactory.Create(args.Parameters) : new PerTensorMethod(args.Parameters, args.Tensors);

    /// <summary>A merge method's complaint as a usage error naming its option ("t must be ..." is about --t).</summary>
    private static string OptionMessage(string message)
    {
        foreach (var name in (string[])["lambda", "density", "t", "eta", "weights"])
        {
            if (message.StartsWith(name + " ", StringComparison.Ordinal))
                return "--" + message;
        }

        return message.Contains("weight", StringComparison.Ordinal) ? "--weights: " + message : "--method: " + message;
    }

    /// <summary>Reads <c>-w 0.2,0.3,0.5</c>: every item a number, none empty.</summary>
    private static List<double>? ParseWeights(System.CommandLine.Parsing.ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
            return null; // not given: equal weights
        var text = string.Join(",", result.Tokens.Select(t => t.Value));
        var weights = new List<double>();
        var items = text.Split(',');
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i].Trim();
            if (item.Length == 0)
            {
                result.AddError($"--weights: item {i + 1} of '{text}' is empty; give one number per member, e.g. -w 0.5,0.5");
                return null;
            }

            if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out var weight))
            {
                result.AddError($"--weights: '{item}' (item {i + 1}) is not a number; give one number per member, e.g. -w 0.5,0.5");
                return null;
            }

            weights.Add(weight);
        }

        return weights;
    }

    /// <summary>
    /// Runs a merge; returns 0 on success, 1 when the merge failed (nothing written), 2 for bad arguments, 130 when
    /// cancelled (SIGINT/SIGTERM; nothing written). Progress and the summary go to <paramref name="output"/>, every error to
    /// <paramref name="error"/>.
    /// </summary>
    public static async Task<int> ExecuteAsync(MergeCommandArgs args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var configuration = LocalConfiguration.Build(null, 0);
        var storage = new SoupStorage(configuration, Options.Create(configuration.Get<PipelineOptions>() ?? new PipelineOptions()));
        CheckpointLocation target;
        List<CheckpointLocation> members;
        CheckpointLocation? baseLocation;
        MergeEngineOptions options;
        long? shardBytes;
        try
        {
            members = [.. args.Members.Select(storage.ParseLocation)];
            baseLocation = args.Base is null ? null : storage.ParseLocation(args.Base);
            target = storage.ParseLocation(args.Output);
            try
            {
                // The method's own rules (known name, ranges, weights it takes, member count) are usage errors too.
                Method(args).Validate(members.Count, baseLocation is not null);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException(OptionMessage(ex.Message), ex);
            }

            if (!args.Force && InputAt(target, members, baseLocation) is { } replaced)
                throw new ArgumentException($"--output '{args.Output}' is also {replaced}, which the merge would replace: give another output, or --force");
            shardBytes = args.ShardSize is null ? null : ByteSize.Parse(args.ShardSize);
            options = new MergeEngineOptions
            {
                OutputDtype = args.Dtype is null ? null : SafetensorsDtypes.ParseHeaderName(args.Dtype.ToUpperInvariant()),
                NonFinite = args.FailOnNonFinite ? NonFinitePolicy.Fail : NonFinitePolicy.Report,
                Progress = new ProgressLine(output),
                Metadata = new Dictionary<string, string> { ["merge_method"] = args.Parameters.Method, ["members"] = members.Count.ToString(CultureInfo.InvariantCulture) },
            };
            if (args.ChunkElements is { } c)
            {
                options = options with { ChunkElements = c };
            }

            if (args.MemoryBudget is { } b)
            {
                options = options with { MemoryBudgetBytes = ByteSize.ParseBudget(b) };
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            error.WriteLine($"pipeline merge: {OneLine(ex.Message)}");
            return 2;
        }

        var stale = target.IsBlob ? await StaleBlobShardsAsync(storage, target, shardBytes, cancellationToken) : StaleShards(target, shardBytes);

        try
        {
            if (target.IsBlob)
            {
                await storage.Checkpoints.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            }

            var summary = await new CheckpointMerger(storage.Container).MergeAsync(
                members, baseLocation, target, Method(args), options, shardBytes, cancellationToken);
            var seconds = summary.Elapsed.TotalSeconds;
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Merged {summary.MemberCount} member(s){(summary.HasBase ? " and a base" : "")} with {args.Parameters.Method}: {summary.TensorCount} tensors, {summary.ParameterCount:N0} parameters, {summary.BytesWritten / 1e9:F3} GB written in {seconds:F2} s ({(summary.BytesRead + summary.BytesWritten) / 1e9 / Math.Max(seconds, 1e-9):F2} GB/s read+write)."));
            foreach (var file in summary.OutputFiles)
            {
                output.WriteLine($"  {file}");
            }

            foreach (var bad in summary.NonFinite)
            {
                error.WriteLine($"  warning: {bad.Count} NaN/Inf value(s) in tensor '{bad.Tensor}' of {bad.Source}");
            }

            // Shards of an earlier sharded output in the same folder that this one did not replace: they would sit
            // beside the new index as if they belonged to it.
            var written = summary.OutputFiles.Select(ShardName).ToHashSet(StringComparer.Ordinal);
            foreach (var old in stale.Where(f => !written.Contains(ShardName(f))))
            {
                if (target.IsBlob)
                    await storage.Container(target.Container!).GetBlobClient(old).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
                else
                    File.Delete(old);
                output.WriteLine($"  removed {(target.IsBlob ? $"blob:{target.Container}/{old}" : old)} (a shard of the earlier output)");
            }

            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            output.WriteLine();
            error.WriteLine($"merge cancelled; nothing was written at {args.Output}.");
            return 130;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or FormatException or IOException or NotSupportedException or Azure.RequestFailedException)
        {
            output.WriteLine();
            error.WriteLine($"merge failed: {OneLine(ex.Message)}");
            error.WriteLine($"Nothing was written at {args.Output}.");
            return 1;
        }
    }

    /// <summary>Which input <paramref name="target"/> names (a member or the base, by full path or blob name), or null.</summary>
    private static string? InputAt(CheckpointLocation target, IReadOnlyList<CheckpointLocation> members, CheckpointLocation? @base)
    {
        static string Key(CheckpointLocation location) => location.IsBlob ? location.ToString() : Path.GetFullPath(location.Path!).TrimEnd(Path.DirectorySeparatorChar);
        var output = Key(target);
        for (var m = 0; m < members.Count; m++)
        {
            if (Key(members[m]) == output)
                return $"member {m + 1}";
        }

        return @base is not null && Key(@base) == output ? "the base (--base)" : null;
    }

    /// <summary>The last part of a file's path or a blob's name: what a shard index names.</summary>
    private static string ShardName(string fileOrBlob) => fileOrBlob[(fileOrBlob.LastIndexOfAny(['/', Path.DirectorySeparatorChar]) + 1)..];

    /// <summary>
    /// The shard blobs an existing index under a blob output prefix names (none unless the output is sharded): a
    /// sharded merge to blobs replaces the index and its shards, and would leave the earlier output's extra shards.
    /// </summary>
    private static async Task<IReadOnlyList<string>> StaleBlobShardsAsync(SoupStorage storage, CheckpointLocation target, long? shardBytes, CancellationToken cancellationToken)
    {
        if (shardBytes is null)
            return [];
        var prefix = target.BlobName!.TrimEnd('/') + "/";
        var container = storage.Container(target.Container!);
        BinaryData content;
        try
        {
            content = (await container.GetBlobClient(prefix + ShardIndex.IndexFileName(ShardIndex.DefaultFileName)).DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return [];
        }

        try
        {
            var map = ShardIndex.ReadWeightMap(content.ToArray(), target.ToString());
            return [.. map.Values.Distinct(StringComparer.Ordinal).Where(f => ShardName(f) == f).Select(f => prefix + f)];
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException)
        {
            return []; // an unreadable index names nothing that can be removed safely
        }
    }

    /// <summary>The shard files an existing index in a local output folder names (none unless the output is sharded).</summary>
    private static IReadOnlyList<string> StaleShards(CheckpointLocation target, long? shardBytes)
    {
        if (shardBytes is null || target.IsBlob)
            return [];
        var index = Path.Combine(target.Path!, ShardIndex.IndexFileName(ShardIndex.DefaultFileName));
        if (!File.Exists(index))
            return [];
        try
        {
            var map = ShardIndex.ReadWeightMap(File.ReadAllBytes(index), index);
            return [.. map.Values.Distinct(StringComparer.Ordinal).Where(f => Path.GetFileName(f) == f).Select(f => Path.Combine(target.Path!, f)).Where(File.Exists)];
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException)
        {
            return []; // an unreadable index names nothing that can be removed safely
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    /// <summary>Prints the merge's progress: a bar redrawn in place on a terminal, a line per 10% otherwise.</summary>
    private sealed class ProgressLine(TextWriter output) : IProgress<MergeProgress>
    {
        private readonly bool _terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        private int _lastDecile = -1;

        public void Report(MergeProgress value)
        {
            var fraction = value.TotalBytes == 0 ? 1.0 : (double)value.BytesWritten / value.TotalBytes;
            if (_terminal)
            {
                var filled = (int)(fraction * 30);
                output.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction:P0} {value.TensorsWritten}/{value.TensorCount} tensors");
                return;
            }

            var decile = (int)(fraction * 10);
            if (decile != _lastDecile)
            {
                _lastDecile = decile;
                output.WriteLine($"  {fraction:P0} ({value.TensorsWritten}/{value.TensorCount} tensors)");
            }
        }
    }
}

/// <summary>The arguments of <c>pipeline merge</c>.</summary>
public sealed record MergeCommandArgs(
    IReadOnlyList<string> Members,
    string Output,
    MergeParameters Parameters,
    string? Base = null,
    string? Dtype = null,
    string? ShardSize = null,
    int? ChunkElements = null,
    bool FailOnNonFinite = false,
    string? MemoryBudget = null,
    bool Force = false,
    TensorSettings? Tensors = null);
