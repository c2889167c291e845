using Soup.Merging.Checkpoints;

using Soup.Merging;

using Soup.Merging.Engine;

namespace Soup.Benchmarks;

/// <summary>What <see cref="MergeBenchmark.RunAsync"/> generates, runs and compares.</summary>
public sealed record MergeBenchmarkOptions
{
    /// <summary>Number of synthetic members (default 4).</summary>
    public int Members { get; init; } = 4;

    /// <summary>Approximate size of each member file in bytes (default 1 GiB).</summary>
    public long MemberBytes { get; init; } = 1L << 30;

    /// <summary>Dtype of the floating tensors: F32 (default), F16 or BF16.</summary>
    public SafetensorsDtype Dtype { get; init; } = SafetensorsDtype.F32;

    /// <summary>Folder for the synthetic checkpoints and outputs; a new temporary folder when null. Needs about
    /// (members + 3) × member size free.</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Keep the generated files (and reuse ones of the same shape found in <see cref="WorkDirectory"/>).</summary>
    public bool KeepFiles { get; init; }

    /// <summary>Timed runs of the engine and of cat/cp (median reported; default 3).</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Timed runs of each Python baseline (default 1: they are slow).</summary>
    public int PythonRepeats { get; init; } = 1;

    /// <summary>Engine chunk size in elements (default: the engine's).</summary>
    public int? ChunkElements { get; init; }

    /// <summary>Engine chunks in flight (default: the engine's).</summary>
    public int? PipelineDepth { get; init; }

    /// <summary>fsync the engine's output before the rename (off by default, as <c>cp</c> does not sync).</summary>
    public bool FlushToDisk { get; init; }

    /// <summary>Run the cat/cp baselines (default true).</summary>
    public bool ShellBaselines { get; init; } = true;

    /// <summary>Run the numpy memmap and PyTorch baselines when their modules import (default true).</summary>
    public bool PythonBaselines { get; init; } = true;

    /// <summary>The Python interpreter; null tries <c>python3</c> then <c>/usr/bin/python3</c>.</summary>
    public string? Python { get; init; }

    /// <summary>A blob connection string (e.g. <c>UseDevelopmentStorage=true</c> for Azurite) to also run blob → blob
    /// next to a plain download + upload of the same bytes; none when null.</summary>
    public string? BlobConnectionString { get; init; }

    /// <summary>Engine chunk size for the blob run (default: as for files; blob sources coalesce small reads).</summary>
    public int? BlobChunkElements { get; init; }

    /// <summary>Engine chunks in flight for the blob run (default: as for files).</summary>
    public int? BlobPipelineDepth { get; init; }

    /// <summary>Member size for the blob run (default: min(<see cref="MemberBytes"/>, 256 MiB)).</summary>
    public long? BlobMemberBytes { get; init; }

    /// <summary>The engine's memory budget (<see cref="MergeEngineOptions.MemoryBudgetBytes"/>; default: the
    /// engine's default; null: no limit).</summary>
    public long? MemoryBudgetBytes { get; init; } = MergeEngineOptions.DefaultMemoryBudgetBytes;

    /// <summary>Also time durable writes (default true, with <see cref="ShellBaselines"/>): <c>cat</c> of the inputs +
    /// <c>dd conv=fsync</c> of an output-sized file, against the engine writing with fsync (in this process and, with
    /// <see cref="MergeProcess"/>, as a whole <c>pipeline merge</c> process).</summary>
    public bool Durable { get; init; } = true;

    /// <summary>The command line that starts <c>pipeline</c> (e.g. <c>dotnet pipeline.dll</c>), for timing a whole
    /// <c>pipeline merge</c> process; none when null.</summary>
    public IReadOnlyList<string>? MergeProcess { get; init; }
}
