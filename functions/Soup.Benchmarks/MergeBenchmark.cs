using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

using Soup.Merging;

namespace Soup.Benchmarks;

/// <summary>The figures of one benchmark run (seconds are medians of the timed runs; null when not run).</summary>
/// <param name="Members">Members merged.</param>
/// <param name="MemberBytes">Size of one member file.</param>
/// <param name="OutputBytes">Size of the output file.</param>
/// <param name="EngineSeconds">The engine, file → file.</param>
/// <param name="InputGigabytesPerSecond">Member bytes read per second by the engine (10^9 bytes).</param>
/// <param name="EnginePeakRssBytes">Peak resident memory of this process during the engine runs.</param>
/// <param name="EngineBufferBytes">The engine's chunk buffers.</param>
/// <param name="CatSeconds"><c>cat</c> of the members to /dev/null.</param>
/// <param name="CpSeconds"><c>cp</c> of a file of the output's size.</param>
/// <param name="NumpySeconds">numpy memmap merge, one tensor at a time.</param>
/// <param name="TorchSeconds">PyTorch, whole state dicts.</param>
/// <param name="BlobEngineSeconds">The engine, blob → blob.</param>
/// <param name="BlobBaselineSeconds">Plain download of the member blobs + upload of the output's bytes.</param>
public sealed record MergeBenchmarkResult(
    int Members,
    long MemberBytes,
    long OutputBytes,
    double EngineSeconds,
    double InputGigabytesPerSecond,
    long EnginePeakRssBytes,
    long EngineBufferBytes,
    double? CatSeconds,
    double? CpSeconds,
    double? NumpySeconds,
    double? TorchSeconds,
    double? BlobEngineSeconds,
    double? BlobBaselineSeconds);

/// <summary>
/// Generates synthetic checkpoints, merges them with the engine (uniform <see cref="LinearMethod"/>) and with baselines
/// run side by side on the same files: <c>cat</c> of the inputs + <c>cp</c> of an output-sized file, a numpy memmap
/// merge and a PyTorch whole-state-dict merge when those modules import, and optionally blob → blob against a plain
/// download + upload. Prints seconds, GB/s, peak memory and the ratios against the issue's targets.
/// </summary>
public static class MergeBenchmark
{
    private const double Gb = 1e9;

    /// <summary>Runs the benchmark and writes a report to <paramref name="output"/>.</summary>
    public static async Task<MergeBenchmarkResult> RunAsync(MergeBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Members, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MemberBytes, 1L << 20, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeats, 1, nameof(options));
        if (options.Dtype is not (SafetensorsDtype.F32 or SafetensorsDtype.F16 or SafetensorsDtype.BF16))
        {
            throw new ArgumentException("The benchmark generates F32, F16 or BF16 members.", nameof(options));
        }

        var ownsFolder = options.WorkDirectory is null;
        var folder = options.WorkDirectory ?? Directory.CreateTempSubdirectory("soup-merge-bench-").FullName;
        Directory.CreateDirectory(folder);
        try
        {
            var layout = SyntheticCheckpoints.Layout(options.MemberBytes, options.Dtype);
            var members = await GenerateAsync(folder, "member", layout, options, output, cancellationToken);
            var memberBytes = new FileInfo(members[0]).Length;
            var parameters = layout.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
            var engineOptions = new MergeEngineOptions
            {
                ChunkElements = options.ChunkElements ?? new MergeEngineOptions().ChunkElements,
                PipelineDepth = options.PipelineDepth ?? new MergeEngineOptions().PipelineDepth,
                MemoryBudgetBytes = options.MemoryBudgetBytes,
            };
            Line(output, $"merge benchmark: {options.Members} × {Size(memberBytes)} {options.Dtype} ({layout.Count} tensors, {parameters / 1e6:F0}M parameters each), "
                + $"{Environment.ProcessorCount} cores, chunk {engineOptions.ChunkElements} elements, {engineOptions.PipelineDepth} in flight, "
                + $"output fsync {(options.FlushToDisk ? "on" : "off (as cp)")}, memory budget {Budget(options.MemoryBudgetBytes)}, page cache warm; "
                + $"medians of {options.Repeats} runs (engine: of the runs after the first)");

            var soup = Path.Combine(folder, "soup.safetensors");
            var copy = Path.Combine(folder, "copy.safetensors");
            var engineTimes = new List<double>();
            var catTimes = new List<double>();
            var cpTimes = new List<double>();
            long peakRss = 0, startRss = 0, buffers = 0, outputBytes = 0;
            MergeEngineSummary? last = null;
            await RunProcessAsync("cat", [.. members], toDevNull: true, cancellationToken); // warm the page cache
            for (var r = 0; r < options.Repeats; r++)
            {
                if (options.ShellBaselines)
                {
                    catTimes.Add((await RunProcessAsync("cat", [.. members], toDevNull: true, cancellationToken)).Seconds);
                    cpTimes.Add((await RunProcessAsync("cp", [members[0], copy], toDevNull: false, cancellationToken)).Seconds);
                    File.Delete(copy);
                    await SyncAsync(cancellationToken);
                }

                // Like cp's target, the output is a new file: replacing an existing one makes ext4 (auto_da_alloc)
                // write the new file back before the rename, which is durability, not merge speed.
                File.Delete(soup);
                await SyncAsync(cancellationToken);
                var (seconds, summary, rss, before) = await RunEngineAsync(members, CheckpointOutput.ToFile(soup, new FileSinkOptions { FlushToDisk = options.FlushToDisk }), engineOptions, cancellationToken);
                engineTimes.Add(seconds);
                peakRss = Math.Max(peakRss, rss);
                startRss = Math.Max(startRss, before);
                buffers = summary.BufferBytes;
                outputBytes = summary.BytesWritten;
                last = summary;
                await SyncAsync(cancellationToken);
            }

            // The first run in a process pays for JIT compilation (System.Numerics.Tensors is not precompiled).
            var first = engineTimes[0];
            var engine = engineTimes.Count > 1 ? BenchStatistics.Median(engineTimes.Skip(1).ToList()) : first;
            var inputRate = options.Members * memberBytes / engine / Gb;
            Line(output, $"  engine file → file        {engine,7:F2} s  {inputRate,5:F2} GB/s in, {(options.Members + 1) * memberBytes / engine / Gb:F2} GB/s in+out; "
                + $"first run {first:F2} s (JIT cold); runs {string.Join(" ", engineTimes.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}");
            Line(output, $"  engine memory             peak RSS {Size(peakRss)} (process at merge start {Size(startRss)}; {Buffers(last!)})");
            double? cat = null, cp = null;
            if (options.ShellBaselines)
            {
                cat = BenchStatistics.Median(catTimes);
                cp = BenchStatistics.Median(cpTimes);
                Line(output, $"  cat members > /dev/null   {cat,7:F2} s  {options.Members * memberBytes / cat.Value / Gb,5:F2} GB/s");
                Line(output, $"  cp {Size(memberBytes),-10}             {cp,7:F2} s");
                Line(output, $"  cat + cp                  {cat + cp,7:F2} s  engine / (cat + cp) = {engine / (cat.Value + cp.Value):F2}×, "
                    + $"first run {first / (cat.Value + cp.Value):F2}× (target ≤ 1.3×)");
            }

            if (options.ShellBaselines && options.Durable)
            {
                await RunDurableAsync(options, members, soup, copy, engineOptions, output, cancellationToken);
            }

            double? numpy = null, torch = null;
            if (options.PythonBaselines)
            {
                (numpy, torch) = await RunPythonBaselinesAsync(options, members, soup, folder, engine, output, cancellationToken);
            }
            else
            {
                Line(output, "  numpy / PyTorch baselines: not run (disabled)");
            }

            double? blobEngine = null, blobBaseline = null;
            if (options.BlobConnectionString is { } connection)
            {
                var blobOptions = engineOptions with
                {
                    ChunkElements = options.BlobChunkElements ?? engineOptions.ChunkElements,
                    PipelineDepth = options.BlobPipelineDepth ?? engineOptions.PipelineDepth,
                };
                (blobEngine, blobBaseline) = await RunBlobAsync(connection, folder, options, blobOptions, output, cancellationToken);
            }

            return new MergeBenchmarkResult(
                options.Members, memberBytes, outputBytes, engine, inputRate, peakRss, buffers, cat, cp, numpy, torch, blobEngine, blobBaseline);
        }
        finally
        {
            if (!options.KeepFiles)
            {
                foreach (var file in new[] { "soup.safetensors", "copy.safetensors", "numpy.safetensors", "torch.safetensors" })
                {
                    File.Delete(Path.Combine(folder, file));
                }

                if (ownsFolder)
                {
                    Directory.Delete(folder, recursive: true);
                }
                else
                {
                    foreach (var file in Directory.GetFiles(folder, "member*.safetensors").Concat(Directory.GetFiles(folder, "blob-member*.safetensors")))
                    {
                        File.Delete(file);
                    }
                }
            }
        }
    }

    private static async Task<string[]> GenerateAsync(
        string folder, string prefix, IReadOnlyList<(string Name, SafetensorsDtype Dtype, long[] Shape)> layout, MergeBenchmarkOptions options,
        TextWriter output, CancellationToken cancellationToken)
    {
        var expected = SafetensorsHeaderWriter.Encode(layout.Select(t => new TensorLayout(t.Name, t.Dtype, t.Shape)), new Dictionary<string, string> { ["format"] = "pt" });
        var length = expected.Prefix.Length + expected.DataLength;
        var paths = Enumerable.Range(0, options.Members).Select(m => Path.Combine(folder, $"{prefix}{m}-{options.Dtype}-{length}.safetensors")).ToArray();
        var needed = paths.Where(p => !File.Exists(p) || new FileInfo(p).Length != length).ToArray();
        var free = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(folder))!).AvailableFreeSpace;
        if (needed.Length > 0 && free < (needed.Length + 3) * length)
        {
            throw new IOException($"The benchmark needs about {Size((needed.Length + 3) * length)} free in '{folder}'; {Size(free)} is free.");
        }

        if (needed.Length > 0)
        {
            var stopwatch = Stopwatch.StartNew();
            await Parallel.ForEachAsync(
                needed,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount), CancellationToken = cancellationToken },
                (path, _) =>
                {
                    SyntheticCheckpoints.Write(path, layout, Array.IndexOf(paths, path));
                    return ValueTask.CompletedTask;
                });
            await SyncAsync(cancellationToken);
            Line(output, $"generated {needed.Length} synthetic member(s) of {Size(length)} in {folder} ({stopwatch.Elapsed.TotalSeconds:F1} s)");
        }

        return paths;
    }

    private static async Task<(double Seconds, MergeEngineSummary Summary, long PeakRss, long StartRss)> RunEngineAsync(
        IReadOnlyList<string> members, CheckpointOutput output, MergeEngineOptions options, CancellationToken cancellationToken)
    {
        ReleaseMemory();
        using var probe = PeakMemoryProbe.Start();
        var stopwatch = Stopwatch.StartNew();
        var sources = members.Select(m => (ICheckpointSource)LocalFileSource.Open(m)).ToArray();
        try
        {
            var summary = await MergeEngine.RunAsync(sources, null, output, new LinearMethod(null, true), options, cancellationToken);
            return (stopwatch.Elapsed.TotalSeconds, summary, probe.Peak(), probe.StartRss);
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }

    private static async Task<(double? Numpy, double? Torch)> RunPythonBaselinesAsync(
        MergeBenchmarkOptions options, string[] members, string soup, string folder, double engine, TextWriter output, CancellationToken cancellationToken)
    {
        var candidates = options.Python is { } python ? [python] : new[] { "python3", "/usr/bin/python3" };
        var numpyPython = await FindPythonAsync(candidates, "import numpy", cancellationToken);
        var torchPython = await FindPythonAsync(candidates, "import torch, numpy", cancellationToken);
        double? numpy = null, torch = null;
        if (numpyPython is null)
        {
            Line(output, $"  numpy memmap: not available ({string.Join(", ", candidates)} -c 'import numpy' failed; on Debian: apt-get install python3-numpy)");
        }
        else
        {
            var (seconds, rss) = await RunPythonAsync(numpyPython, BenchScripts.NumpyMemmap, Path.Combine(folder, "numpy.safetensors"), members, options.PythonRepeats, cancellationToken);
            numpy = seconds;
            Line(output, $"  numpy memmap, per tensor  {seconds,7:F2} s  peak RSS {Size(rss)} (mapped pages count)  numpy / engine = {seconds / engine:F2}× (target ≥ 2×)"
                + Agreement(soup, Path.Combine(folder, "numpy.safetensors")));
        }

        if (torchPython is null)
        {
            Line(output, $"  PyTorch: not available ({string.Join(", ", candidates)} -c 'import torch, numpy' failed; on Debian: apt-get install python3-torch)");
        }
        else
        {
            var (seconds, rss) = await RunPythonAsync(torchPython, BenchScripts.TorchStateDict, Path.Combine(folder, "torch.safetensors"), members, options.PythonRepeats, cancellationToken);
            torch = seconds;
            Line(output, $"  PyTorch whole state dicts {seconds,7:F2} s  peak RSS {Size(rss)}  torch / engine = {seconds / engine:F2}× (target ≥ 5×)"
                + Agreement(soup, Path.Combine(folder, "torch.safetensors")));
        }

        return (numpy, torch);
    }

    private static async Task<(double? Engine, double? Baseline)> RunBlobAsync(
        string connection, string folder, MergeBenchmarkOptions options, MergeEngineOptions engineOptions, TextWriter output, CancellationToken cancellationToken)
    {
        var bytes = options.BlobMemberBytes ?? Math.Min(options.MemberBytes, 256L << 20);
        var layout = SyntheticCheckpoints.Layout(bytes, options.Dtype);
        var members = await GenerateAsync(folder, "blob-member", layout, options, output, cancellationToken);
        var memberBytes = new FileInfo(members[0]).Length;
        var service = new BlobServiceClient(connection);
        var container = service.GetBlobContainerClient("merge-bench-" + RandomNumberGenerator.GetHexString(8, lowercase: true));
        var transfer = new StorageTransferOptions { MaximumConcurrency = 8, InitialTransferSize = 8 << 20, MaximumTransferSize = 8 << 20 };
        try
        {
            await container.CreateAsync(cancellationToken: cancellationToken);
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(members.Select((m, i) => container.GetBlobClient($"members/{i}.safetensors")
                .UploadAsync(m, new BlobUploadOptions { TransferOptions = transfer }, cancellationToken)));
            var uploadMembers = stopwatch.Elapsed.TotalSeconds;

            var downloads = new List<double>();
            var uploads = new List<double>();
            var engines = new List<double>();
            long peakRss = 0, startRss = 0;
            MergeEngineSummary? summary = null;
            for (var r = 0; r < options.Repeats; r++)
            {
                ReleaseMemory();
                using var probe = PeakMemoryProbe.Start();
                stopwatch.Restart();
                var sources = new List<ICheckpointSource>();
                try
                {
                    for (var i = 0; i < members.Length; i++)
                    {
                        sources.Add(await BlobSource.OpenAsync(container.GetBlobClient($"members/{i}.safetensors"), null, cancellationToken));
                    }

                    summary = await MergeEngine.RunAsync(
                        sources, null, CheckpointOutput.ToBlob(container, "soup/model.safetensors"), new LinearMethod(null, true), engineOptions, cancellationToken);
                }
                finally
                {
                    foreach (var source in sources)
                    {
                        await source.DisposeAsync();
                    }
                }

                engines.Add(stopwatch.Elapsed.TotalSeconds);
                peakRss = Math.Max(peakRss, probe.Peak());
                startRss = Math.Max(startRss, probe.StartRss);

                stopwatch.Restart();
                await Task.WhenAll(Enumerable.Range(0, members.Length).Select(i => container.GetBlobClient($"members/{i}.safetensors")
                    .DownloadToAsync(Stream.Null, new BlobDownloadToOptions { TransferOptions = transfer }, cancellationToken)));
                downloads.Add(stopwatch.Elapsed.TotalSeconds);
                stopwatch.Restart();
                await container.GetBlobClient("baseline/upload.safetensors")
                    .UploadAsync(members[0], new BlobUploadOptions { TransferOptions = transfer }, cancellationToken);
                uploads.Add(stopwatch.Elapsed.TotalSeconds);
            }

            var engine = BenchStatistics.Median(engines);
            var baseline = BenchStatistics.Median(downloads) + BenchStatistics.Median(uploads);
            Line(output, $"blob → blob ({service.Uri.Host}:{service.Uri.Port}): {options.Members} × {Size(memberBytes)}; uploading the members took {uploadMembers:F2} s");
            Line(output, $"  engine blob → blob        {engine,7:F2} s  {options.Members * memberBytes / engine / Gb,5:F2} GB/s in  peak RSS {Size(peakRss)} "
                + $"(process at merge start {Size(startRss)}); {Buffers(summary!)}; {engineOptions.PipelineDepth} in flight; "
                + $"runs {string.Join(" ", engines.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}");
            Line(output, $"  download members          {BenchStatistics.Median(downloads),7:F2} s  {options.Members * memberBytes / BenchStatistics.Median(downloads) / Gb,5:F2} GB/s");
            Line(output, $"  upload {Size(memberBytes),-10}         {BenchStatistics.Median(uploads),7:F2} s  {memberBytes / BenchStatistics.Median(uploads) / Gb,5:F2} GB/s");
            Line(output, $"  download + upload         {baseline,7:F2} s  engine / (download + upload) = {engine / baseline:F2}×");
            return (engine, baseline);
        }
        finally
        {
            await container.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>
    /// Durable output: <c>cat</c> of the inputs + <c>dd conv=fsync</c> of an output-sized file (reading the inputs and
    /// writing the output durably, the least a durable merge must do), against the engine flushing its output before the
    /// rename, in this process and as a whole <c>pipeline merge</c> process.
    /// </summary>
    private static async Task RunDurableAsync(
        MergeBenchmarkOptions options, string[] members, string soup, string copy, MergeEngineOptions engineOptions, TextWriter output, CancellationToken cancellationToken)
    {
        var cat = new List<double>();
        var dd = new List<double>();
        var engine = new List<double>();
        var whole = new List<double>();
        var atEnd = new List<double>();
        for (var r = 0; r < options.Repeats; r++)
        {
            cat.Add((await RunProcessAsync("cat", [.. members], toDevNull: true, cancellationToken)).Seconds);
            // 1 MiB blocks: on this kind of machine 8 MiB blocks made dd itself 2-4× slower, which would flatter the merge.
            var copied = await RunProcessAsync("dd", [$"if={members[0]}", $"of={copy}", "bs=1M", "conv=fsync", "status=none"], toDevNull: false, cancellationToken);
            if (copied.ExitCode != 0)
            {
                throw new InvalidOperationException($"dd failed ({copied.ExitCode}): {copied.Error}");
            }

            dd.Add(copied.Seconds);
            File.Delete(copy);
            File.Delete(soup);
            await SyncAsync(cancellationToken);
            engine.Add((await RunEngineAsync(members, CheckpointOutput.ToFile(soup, new FileSinkOptions { FlushToDisk = true }), engineOptions, cancellationToken)).Seconds);
            File.Delete(soup);
            await SyncAsync(cancellationToken);
            atEnd.Add((await RunEngineAsync(members, CheckpointOutput.ToFile(soup, new FileSinkOptions { FlushToDisk = true, WriteBackBytes = 0 }), engineOptions, cancellationToken)).Seconds);
            File.Delete(soup);
            await SyncAsync(cancellationToken);
            if (options.MergeProcess is { Count: > 0 } command)
            {
                string[] arguments = [.. command.Skip(1), "merge", .. members, "-o", soup];
                var merged = await RunProcessAsync(command[0], arguments, toDevNull: false, cancellationToken);
                if (merged.ExitCode != 0)
                {
                    throw new InvalidOperationException($"pipeline merge failed ({merged.ExitCode}): {merged.Output} {merged.Error}");
                }

                whole.Add(merged.Seconds);
                File.Delete(soup);
                await SyncAsync(cancellationToken);
            }
        }

        var baseline = BenchStatistics.Median(cat) + BenchStatistics.Median(dd);
        Line(output, $"  durable: cat + dd conv=fsync {baseline,5:F2} s  (cat {BenchStatistics.Median(cat):F2} s, dd of {Size(new FileInfo(members[0]).Length)} with fsync {BenchStatistics.Median(dd):F2} s)");
        Line(output, $"  engine, fsync before rename {BenchStatistics.Median(engine),5:F2} s  engine / (cat + dd) = {BenchStatistics.Median(engine) / baseline:F2}×; "
            + $"runs {string.Join(" ", engine.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}");
        Line(output, $"  same, write-back at the end {BenchStatistics.Median(atEnd),5:F2} s  engine / (cat + dd) = {BenchStatistics.Median(atEnd) / baseline:F2}× "
            + $"(FileSinkOptions.WriteBackBytes = 0: the whole output flushed after the last write)");
        if (whole.Count > 0)
        {
            Line(output, $"  pipeline merge (process)  {BenchStatistics.Median(whole),7:F2} s  whole process / (cat + dd) = {BenchStatistics.Median(whole) / baseline:F2}× (target ≤ 1.15×); "
                + $"runs {string.Join(" ", whole.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}");
        }
    }

    private static string Budget(long? bytes) => bytes is { } b ? Size(b) : "none";

    private static string Buffers(MergeEngineSummary summary) =>
        $"buffers {Size(summary.TotalBufferBytes)} of budget {Budget(summary.MemoryBudgetBytes)}: engine {Size(summary.BufferBytes)} "
        + $"(chunks of {summary.ChunkElements} elements), inputs {Size(summary.SourceBufferBytes)}, output {Size(summary.SinkBufferBytes)}";

    private static async Task<string?> FindPythonAsync(IEnumerable<string> candidates, string probe, CancellationToken cancellationToken)
    {
        foreach (var candidate in candidates)
        {
            try
            {
                if ((await RunProcessAsync(candidate, ["-c", probe], toDevNull: true, cancellationToken)).ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed.
            }
        }

        return null;
    }

    private static async Task<(double Seconds, long PeakRss)> RunPythonAsync(
        string python, string script, string outputPath, string[] members, int repeats, CancellationToken cancellationToken)
    {
        var times = new List<double>();
        long rss = 0;
        for (var r = 0; r < Math.Max(1, repeats); r++)
        {
            var result = await RunProcessAsync(python, ["-c", script, outputPath, .. members], toDevNull: false, cancellationToken);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"{python} baseline failed ({result.ExitCode}): {result.Error}");
            }

            using var json = JsonDocument.Parse(result.Output.Trim().Split('\n')[^1]);
            times.Add(json.RootElement.GetProperty("seconds").GetDouble());
            rss = Math.Max(rss, json.RootElement.GetProperty("peak_rss_kb").GetInt64() * 1024);
            await SyncAsync(cancellationToken);
        }

        return (BenchStatistics.Median(times), rss);
    }

    /// <summary>Largest difference between the engine's output and a baseline's, as a sanity check of both.</summary>
    private static string Agreement(string engine, string baseline)
    {
        using var a = SafetensorsFile.Open(engine);
        using var b = SafetensorsFile.Open(baseline);
        double worst = 0;
        var buffer = new byte[1 << 20];
        var other = new byte[1 << 20];
        foreach (var tensor in a.Tensors.Where(t => t.Dtype == SafetensorsDtype.F32).Take(8))
        {
            var length = (int)Math.Min(buffer.Length, tensor.ByteLength);
            a.ReadTensorBytes(tensor, 0, buffer.AsSpan(0, length));
            b.ReadTensorBytes(b.GetTensor(tensor.Name), 0, other.AsSpan(0, length));
            var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, length));
            var y = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(other.AsSpan(0, length));
            for (var i = 0; i < x.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(x[i] - y[i]));
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"; max |Δ| vs engine {worst:G3}");
    }

    private static async Task<(double Seconds, int ExitCode, string Output, string Error)> RunProcessAsync(
        string file, IReadOnlyList<string> arguments, bool toDevNull, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(toDevNull ? "/bin/sh" : file)
        {
            RedirectStandardOutput = !toDevNull,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (toDevNull)
        {
            // The shell redirects to /dev/null itself: no pipe for the bytes to cross.
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec \"$0\" \"$@\" > /dev/null");
            start.ArgumentList.Add(file);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = toDevNull ? Task.FromResult("") : process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        return (seconds, process.ExitCode, await stdout, await stderr);
    }

    private static async Task SyncAsync(CancellationToken cancellationToken)
    {
        // Dirty pages of one run's output must not slow the next one down.
        try
        {
            await RunProcessAsync("sync", [], toDevNull: false, cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No sync binary (not Linux): the runs are then a little noisier.
        }
    }

    /// <summary>Gives memory held by earlier steps (generation, SDK transfers) back to the OS, so that the peak measured
    /// during a merge is the merge's.</summary>
    private static void ReleaseMemory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    private static string Size(long bytes) => bytes >= 1L << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F0} MiB");

    /// <summary>Writes a line (the build uses invariant globalization, so numbers format the same everywhere).</summary>
    private static void Line(TextWriter output, string text) => output.WriteLine(text);
}
