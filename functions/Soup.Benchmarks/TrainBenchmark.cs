using System.Diagnostics;
using System.Globalization;
using Soup.Core.Jobs;
using Soup.Training;

using Soup.Merging;

using Soup.Merging.Engine;
using Soup.Training.Data;
using Soup.Training.FineTuning;

namespace Soup.Benchmarks;

/// <summary>The options of <c>pipeline bench train</c>.</summary>
public sealed record TrainBenchmarkOptions(IReadOnlyList<string> Models, int BatchSize, int Steps, int Repeats, string DataRoot);

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
        return 0;
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
