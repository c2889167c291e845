using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>What the engine does with NaN and ±Inf values found in the inputs (members and base).</summary>
public enum NonFinitePolicy
{
    /// <summary>Report them in <see cref="MergeEngineSummary.NonFinite"/> and merge on (the default).</summary>
    Report,

    /// <summary>Fail the merge at the first one, naming the tensor and the input; nothing is written.</summary>
    Fail,

    /// <summary>Do not look (saves one pass over the inputs).</summary>
    Ignore,
}

/// <summary>
/// How tensors that are not floating point (integers, BOOL: e.g. BatchNorm's <c>num_batches_tracked</c>, position ids)
/// are merged. They are never averaged; they keep their dtype whatever <see cref="MergeEngineOptions.OutputDtype"/>.
/// </summary>
public enum NonFloatTensorRule
{
    /// <summary>Every member must hold the same bytes (the base is not compared), else the merge fails naming the
    /// tensor and the member; the output copies the first member's bytes. The default.</summary>
    RequireEqual,

    /// <summary>The output copies the first member's bytes; the others are not read.</summary>
    FirstMember,

    /// <summary>The output copies the base's bytes; the members are not read. Needs a base.</summary>
    Base,
}

/// <summary>Tuning and numerics of <see cref="MergeEngine.RunAsync"/>.</summary>
public sealed record MergeEngineOptions
{
    /// <summary>
    /// Elements per chunk for elementwise methods (default 2^16: a chunk of every input stays in the CPU caches between
    /// reading, merging and writing; larger chunks measured slower on local files). Memory for buffers is about
    /// <see cref="PipelineDepth"/> × (inputs + 1) × this × 4 bytes (more for F16/BF16/F64 staging): 4 members of F32,
    /// depth 4: 5 MiB. Remote sources split a chunk into ranged requests of their own size.
    /// </summary>
    public int ChunkElements { get; init; } = 1 << 16;

    /// <summary>
    /// Chunks in flight (default 4): one being read, one merged, one written, and one spare so that a slow stage does not
    /// stall the others. Raise it for remote sources, whose reads of all chunks in flight run in parallel
    /// (e.g. 16 with 2^20-element chunks for blobs). For non-elementwise methods (whole tensors) at most 2 are used.
    /// </summary>
    public int PipelineDepth { get; init; } = 4;

    /// <summary>
    /// The dtype of floating tensors in the output (F16, BF16, F32 or F64); null keeps each tensor's input dtype.
    /// F32 → F16/BF16 rounds to nearest even.
    /// </summary>
    public SafetensorsDtype? OutputDtype { get; init; }

    /// <summary>
    /// Require tensors stored as F64 to be merged in double precision: a method without an <see cref="IMergeMethodF64"/>
    /// kernel is refused before anything is read. A method that has one (<see cref="LinearMethodF64"/>, which the factory
    /// builds for <c>linear</c>) merges F64 in F64 whatever this says; others convert F64 to F32 when this is false (the
    /// default): about 7 significant digits survive, and values beyond ±3.4e38 become infinite. F16/BF16/F32 always
    /// accumulate in F32.
    /// </summary>
    public bool AccumulateInF64 { get; init; }

    /// <summary>What to do with NaN/Inf found in the inputs.</summary>
    public NonFinitePolicy NonFinite { get; init; } = NonFinitePolicy.Report;

    /// <summary>How integer and BOOL tensors are merged.</summary>
    public NonFloatTensorRule NonFloatTensors { get; init; } = NonFloatTensorRule.RequireEqual;

    /// <summary>The default <see cref="MemoryBudgetBytes"/>: 256 MiB.</summary>
    public const long DefaultMemoryBudgetBytes = 256L << 20;

    /// <summary>
    /// The most bytes the merge's buffers hold at once, whatever the member count (default
    /// <see cref="DefaultMemoryBudgetBytes"/>, 256 MiB; null: no limit). It covers the engine's chunk buffers, the
    /// inputs' own buffers (<see cref="BlobSource"/> read-ahead windows and copy buffers) and the output's (blocks being
    /// uploaded by <see cref="BlockBlobSink"/>): the output's come first, the engine's chunks take what they need up to
    /// half of the rest (shrinking, for elementwise methods, as inputs grow), and the inputs share the remainder equally,
    /// each shrinking its read-ahead to fit (<see cref="ICheckpointSource.LimitBuffers"/>). Results do not depend on it.
    /// <see cref="MergeEngineSummary.TotalBufferBytes"/> reports what was granted. A budget too small for the inputs
    /// (under about 2 × <see cref="PipelineDepth"/> × 16 KiB per input for F32, plus the output's buffers) fails before
    /// anything is read, saying how much is needed; so does a whole-tensor method whose largest tensor does not fit.
    /// The process itself (runtime, HTTP clients) comes on top.
    /// </summary>
    public long? MemoryBudgetBytes { get; init; } = DefaultMemoryBudgetBytes;

    /// <summary>The output's <c>__metadata__</c> (every shard's, when sharded); none when null.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Told after each tensor is written (from a pipeline thread).</summary>
    public IProgress<MergeProgress>? Progress { get; init; }
}

/// <summary>How far a merge is.</summary>
/// <param name="TensorsWritten">Tensors fully handed to the output.</param>
/// <param name="TensorCount">Tensors in all.</param>
/// <param name="BytesWritten">Bytes handed to the output so far (headers included).</param>
/// <param name="TotalBytes">The output's size (all shards, headers included; the index excluded).</param>
public readonly record struct MergeProgress(int TensorsWritten, int TensorCount, long BytesWritten, long TotalBytes);

/// <summary>NaN/Inf values found in one input's tensor.</summary>
/// <param name="Tensor">The tensor.</param>
/// <param name="Source">The input's <see cref="ICheckpointSource.Name"/>.</param>
/// <param name="Count">How many values are NaN or infinite.</param>
public sealed record NonFiniteInput(string Tensor, string Source, long Count);

/// <summary>What a merge did.</summary>
/// <param name="TensorCount">Tensors in the output.</param>
/// <param name="ParameterCount">Elements over all tensors (non-floating ones included).</param>
/// <param name="MemberCount">Members merged.</param>
/// <param name="HasBase">Whether a base was given.</param>
/// <param name="BytesRead">Tensor bytes read from all inputs.</param>
/// <param name="BytesWritten">Bytes of all output files (headers and index included).</param>
/// <param name="Elapsed">From the start of validation to the last commit.</param>
/// <param name="OutputFiles">The files committed (full names), the index last when sharded.</param>
/// <param name="NonFinite">NaN/Inf found per input tensor (empty with <see cref="NonFinitePolicy.Ignore"/>).</param>
/// <param name="BufferBytes">Bytes of chunk buffers the engine allocated (its own share; see <see cref="MergeEngineSummary.TotalBufferBytes"/>).</param>
public sealed record MergeEngineSummary(
    int TensorCount,
    long ParameterCount,
    int MemberCount,
    bool HasBase,
    long BytesRead,
    long BytesWritten,
    TimeSpan Elapsed,
    IReadOnlyList<string> OutputFiles,
    IReadOnlyList<NonFiniteInput> NonFinite,
    long BufferBytes)
{
    /// <summary>What the inputs may hold in buffers of their own (their <see cref="ICheckpointSource.BufferBytes"/>,
    /// after any limit from the budget).</summary>
    public long SourceBufferBytes { get; init; }

    /// <summary>What the output's sinks may hold (<see cref="ICheckpointSinkFactory.BufferBytes"/>).</summary>
    public long SinkBufferBytes { get; init; }

    /// <summary>All buffers: the engine's, the inputs' and the output's; within <see cref="MemoryBudgetBytes"/> when set.</summary>
    public long TotalBufferBytes => BufferBytes + SourceBufferBytes + SinkBufferBytes;

    /// <summary>The budget the merge ran under (<see cref="MergeEngineOptions.MemoryBudgetBytes"/>); null for none.</summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Elements per chunk the merge used (smaller than <see cref="MergeEngineOptions.ChunkElements"/> when the
    /// budget or the tensors asked for it; whole tensors for non-elementwise methods).</summary>
    public int ChunkElements { get; init; }

    /// <summary>NaN/Inf values over all inputs.</summary>
    public long NonFiniteCount => NonFinite.Sum(n => n.Count);
}
