using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Soup.Core.Checkpoints;
using Soup.Core.Merging;
using Soup.Core.Merging.Engine;
using Soup.Core.Storage;

namespace Soup.Cli.Commands;

/// <summary><c>pipeline merge</c>: merge checkpoints from files or blobs with any method, streaming in bounded memory.</summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var inputs = new Argument<string[]>("members") { Description = "Member checkpoints: .safetensors files, sharded folders (model.safetensors.index.json), or blob:<container>/<name>.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "Where the merged checkpoint goes (file, folder with --shard-size, or blob:<container>/<name>). Nothing appears there unless the merge succeeds.", Required = true };
        var method = new Option<string>("--method", "-m") { Description = $"One of: {string.Join(", ", MergeMethodFactory.Names)}.", DefaultValueFactory = _ => "linear" };
        var weights = new Option<string?>("--weights", "-w") { Description = "Comma-separated weight per member (default: equal)." };
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Use the weights as given instead of dividing by their sum." };
        var lambda = new Option<double>("--lambda") { Description = "Scale of the summed task vectors (task_arithmetic, ties, dare_*).", DefaultValueFactory = _ => 1.0 };
        var density = new Option<double>("--density") { Description = "Fraction of each task vector kept (ties, dare_*), in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var t = new Option<double>("--t") { Description = "SLERP position in [0, 1].", DefaultValueFactory = _ => 0.5 };
        var eta = new Option<double>("--eta") { Description = "Step toward the merged model for liti and ema, in [0, 1].", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<int>("--seed") { Description = "Seed of DARE's random drops." };
        var @base = new Option<string?>("--base", "-b") { Description = "The base/init checkpoint (task vectors are taken relative to it)." };
        var dtype = new Option<string?>("--dtype") { Description = "Output dtype of floating tensors: F16, BF16, F32 or F64 (default: the inputs')." };
        var shardSize = new Option<string?>("--shard-size") { Description = "Write a sharded checkpoint (Hugging Face layout) with shards of at most this size, e.g. 2GB." };
        var chunk = new Option<int?>("--chunk-elements") { Description = "Values per member read at once (memory is about chunk x 4 bytes x (members + 2) x pipeline depth)." };
        var budget = new Option<string?>("--memory-budget") { Description = "Most memory the merge's buffers may hold, whatever the member count, e.g. 512MB, or none (default 256MB)." };
        var failOnNonFinite = new Option<bool>("--fail-on-nonfinite") { Description = "Fail (writing nothing) when an input holds NaN or Inf, instead of reporting them." };
        var command = new Command("merge", """
            Merge checkpoints into one, tensor by tensor, in bounded memory.
            Examples:
              pipeline merge a.safetensors b.safetensors c.safetensors -o soup.safetensors
              pipeline merge a.safetensors b.safetensors -m slerp --t 0.3 -o mid.safetensors
              pipeline merge m1.safetensors m2.safetensors m3.safetensors -m ties --density 0.2 --base init.safetensors -o ties.safetensors
              pipeline merge blob:checkpoints/p/round-01/member-000/model.safetensors blob:checkpoints/p/round-01/member-001/model.safetensors -o soup/ --shard-size 2GB
            """)
        {
            inputs, output, method, weights, noNormalize, lambda, density, t, eta, seed, @base, dtype, shardSize, chunk, failOnNonFinite, budget,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            new MergeCommandArgs(
                parse.GetValue(inputs)!,
                parse.GetValue(output)!,
                new MergeParameters
                {
                    Method = parse.GetValue(method)!,
                    Weights = ParseWeights(parse.GetValue(weights)),
                    Normalize = !parse.GetValue(noNormalize),
                    Lambda = parse.GetValue(lambda),
                    Density = parse.GetValue(density),
                    T = parse.GetValue(t),
                    Eta = parse.GetValue(eta),
                    Seed = parse.GetValue(seed),
                },
                parse.GetValue(@base),
                parse.GetValue(dtype),
                parse.GetValue(shardSize),
                parse.GetValue(chunk),
                parse.GetValue(failOnNonFinite),
                parse.GetValue(budget)),
            Console.Out,
            cancellationToken));
        return command;
    }

    /// <summary>Runs a merge; returns 0 on success, 1 when the merge failed (nothing written), 2 for bad arguments.</summary>
    public static async Task<int> ExecuteAsync(MergeCommandArgs args, TextWriter output, CancellationToken cancellationToken)
    {
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
            output.WriteLine($"merge: {ex.Message}");
            return 2;
        }

        try
        {
            if (target.IsBlob)
            {
                await storage.Checkpoints.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            }

            var summary = await new CheckpointMerger(storage.Container).MergeAsync(
                members, baseLocation, target, args.Parameters, options, shardBytes, cancellationToken);
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
                output.WriteLine($"  warning: {bad.Count} NaN/Inf value(s) in tensor '{bad.Tensor}' of {bad.Source}");
            }

            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or FormatException or IOException or NotSupportedException or Azure.RequestFailedException)
        {
            output.WriteLine();
            output.WriteLine($"merge failed: {ex.Message}");
            output.WriteLine($"Nothing was written at {args.Output}.");
            return 1;
        }
    }

    private static List<double>? ParseWeights(string? text) => text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
        .Select(w => double.Parse(w, CultureInfo.InvariantCulture)).ToList();

    /// <summary>Prints the merge's progress: a bar redrawn in place on a terminal, a line per 10% otherwise.</summary>
    private sealed class ProgressLine(TextWriter output) : IProgress<MergeProgress>
    {
        private readonly bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        private int lastDecile = -1;

        public void Report(MergeProgress value)
        {
            var fraction = value.TotalBytes == 0 ? 1.0 : (double)value.BytesWritten / value.TotalBytes;
            if (terminal)
            {
                var filled = (int)(fraction * 30);
                output.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction:P0} {value.TensorsWritten}/{value.TensorCount} tensors");
                return;
            }

            var decile = (int)(fraction * 10);
            if (decile != lastDecile)
            {
                lastDecile = decile;
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
    string? MemoryBudget = null);
