using System.Diagnostics;
using System.Globalization;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Training;
using static TorchSharp.torch;

using Soup.Merging;

using Soup.Merging.Engine;
using Soup.Training.Data;
using Soup.Training.Models;
using Soup.Training.Checkpoints;
using Soup.Training.Evaluation;
using Soup.Training.FineTuning;

namespace Soup.Benchmarks;

/// <summary>The options of <c>pipeline bench evaluate</c>.</summary>
/// <param name="Model">The model of every checkpoint.</param>
/// <param name="Counts">Checkpoint counts, one evaluation each.</param>
/// <param name="Examples">Examples in the one split.</param>
public sealed record EvaluateBenchmarkOptions(string Model, IReadOnlyList<int> Counts, int Examples);

/// <summary>
/// <c>pipeline bench evaluate</c>: peak memory of an evaluation job's work (every checkpoint scored, all of them in the
/// ensemble, one connectivity midpoint) for several checkpoint counts, reading the checkpoints from safetensors files as
/// the worker does, one at a time (<see cref="Evaluator.EvaluateAsync"/>) next to all at once (as the worker did).
/// </summary>
public static class EvaluateBenchmark
{
    /// <summary>Runs the benchmark and prints its table.</summary>
    public static async Task<int> ExecuteAsync(EvaluateBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Counts.Count == 0 || options.Counts.Any(c => c < 2) || options.Examples < 1)
        {
            output.WriteLine("bench evaluate: --checkpoints needs counts of at least 2 (a midpoint takes two), --examples at least 1.");
            return 2;
        }

        if (!ModelFactory.KnownModels.Contains(options.Model, StringComparer.Ordinal))
        {
            output.WriteLine($"bench evaluate: unknown model '{options.Model}'; known: {string.Join(", ", ModelFactory.KnownModels)}.");
            return 2;
        }

        TorchSetup.Initialize();
        var folder = Directory.CreateTempSubdirectory("soup-evaluate-bench-").FullName;
        try
        {
            // ResNets take 3×32×32 images at least; the small CNNs MNIST's 1×28×28.
            var shape = options.Model.StartsWith("resnet", StringComparison.Ordinal) ? new ModelShape(3, 32, 32, 10) : ModelShape.Mnist;
            var paths = WriteCheckpoints(options.Model, shape, options.Counts.Max(), folder);
            using var data = SyntheticData(shape, options.Examples);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Evaluation memory: {options.Model} checkpoints of {new FileInfo(paths[0]).Length / (double)(1 << 20):F1} MiB read from files, {options.Examples} examples, "
                + $"every checkpoint in the ensemble, one midpoint; {Environment.ProcessorCount} cores. Peak RSS of this process during each evaluation."));
            output.WriteLine();
            output.WriteLine("| checkpoints | one at a time: peak RSS | s | all at once (before): peak RSS | s |");
            output.WriteLine("|---:|---:|---:|---:|---:|");

            // One untimed run first, so that neither side pays for JIT and allocator growth.
            await MeasureAsync(() => StreamedAsync(options.Model, paths[..2], data, cancellationToken));
            foreach (var count in options.Counts)
            {
                var chosen = paths[..count];
                var (streamedPeak, streamedSeconds) = await MeasureAsync(() => StreamedAsync(options.Model, chosen, data, cancellationToken));
                var (allPeak, allSeconds) = await MeasureAsync(() => Task.FromResult(AllAtOnce(options.Model, chosen, data)));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {count} | {streamedPeak / (double)(1 << 20):F0} MiB | {streamedSeconds:F1} | {allPeak / (double)(1 << 20):F0} MiB | {allSeconds:F1} |"));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Task<EvaluationReport> StreamedAsync(string model, string[] paths, ILabelledImages data, CancellationToken cancellationToken)
    {
        var store = new CheckpointLoader(paths, async (path, ct) => Safetensors.Read(await File.ReadAllBytesAsync(path, ct), path).Tensors);
        return Evaluator.EvaluateAsync(model, store, [new NamedSplit("test", data)], [.. Enumerable.Range(0, paths.Length)], [new CheckpointPair(0, 1)], cancellationToken: cancellationToken);
    }

    private static EvaluationReport AllAtOnce(string model, string[] paths, ILabelledImages data)
    {
        var checkpoints = paths.Select(p => new NamedCheckpoint(p, Safetensors.Read(File.ReadAllBytes(p), p).Tensors)).ToList();
        return Evaluator.Evaluate(model, checkpoints, [new NamedSplit("test", data)], [.. Enumerable.Range(0, paths.Length)], [new CheckpointPair(0, 1)]);
    }

    private static async Task<(long Peak, double Seconds)> MeasureAsync(Func<Task<EvaluationReport>> evaluate)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var probe = PeakMemoryProbe.Start();
        var clock = Stopwatch.StartNew();
        await evaluate();
        return (probe.Peak(), clock.Elapsed.TotalSeconds);
    }

    private static string[] WriteCheckpoints(string model, ModelShape shape, int count, string folder) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            manual_seed(i);
            using var network = ModelFactory.Create(model, shape);
            var path = Path.Combine(folder, $"checkpoint-{i:D3}.safetensors");
            using var file = File.Create(path);
            Safetensors.Write(file, TorchCheckpoint.ToTensorData(network));
            return path;
        })];

    private static ImageClassificationData SyntheticData(ModelShape shape, int examples)
    {
        var generator = new TorchSharp.torch.Generator(seed: 7);
        return ImageClassificationData.FromTensors(
            randn([examples, shape.Channels, shape.Height, shape.Width], generator: generator),
            randint(0, shape.Classes, [examples], dtype: int64, generator: generator),
            shape.Classes);
    }
}
