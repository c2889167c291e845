using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>How the engine treats one tensor.</summary>
internal enum TensorKind
{
    /// <summary>Converted to F32 and merged by <see cref="IMergeMethod.Merge"/>.</summary>
    Float,

    /// <summary>F64 merged by <see cref="IMergeMethodF64.MergeF64"/> (<see cref="MergeEngineOptions.AccumulateInF64"/>).</summary>
    Double,

    /// <summary>Not floating: copied by the <see cref="NonFloatTensorRule"/>.</summary>
    Copy,
}

/// <summary>One output tensor: where each input holds it, how it is merged, which output file it goes to.</summary>
internal sealed record TensorPlan(
    string Name,
    SafetensorsDtype InputDtype,
    SafetensorsDtype OutputDtype,
    IReadOnlyList<long> Shape,
    long Elements,
    int[] SourceIndex,
    TensorKind Kind,
    int FileIndex);

/// <summary>One output file: its name, header bytes and total length.</summary>
internal sealed record FilePlan(string FileName, byte[] Prefix, long Length, IReadOnlyList<TensorInfo> Tensors);

/// <summary>
/// Everything decided before a byte is written: validation of the inputs and options, per-tensor treatment, chunk
/// capacity, buffer sizes, the output files and their headers (and the index when sharded).
/// </summary>
internal sealed class MergePlan
{
    /// <summary>The largest chunk, so that every staging buffer (up to 8 bytes an element) stays a valid array.</summary>
    public const int MaxChunkElements = 1 << 27;

    /// <summary>The smallest chunk a memory budget may shrink chunks to (16 KiB of F32 per input).</summary>
    public const int MinBudgetChunkElements = 4096;

    private MergePlan()
    {
    }

    public required ICheckpointSource[] Inputs { get; init; }

    public required int MemberCount { get; init; }

    public required bool HasBase { get; init; }

    public required IReadOnlyList<TensorPlan> Tensors { get; init; }

    public required IReadOnlyList<FilePlan> Files { get; init; }

    /// <summary>The index file's name and bytes when the output is sharded.</summary>
    public required (string FileName, byte[] Bytes)? Index { get; init; }

    /// <summary>Elements per chunk (whole tensors for non-elementwise methods).</summary>
    public required int Capacity { get; init; }

    public required int Slots { get; init; }

    public required bool NeedsFloats { get; init; }

    public required bool NeedsDoubles { get; init; }

    /// <summary>Bytes of the per-input staging buffer (stored dtype before conversion, non-floating tensors).</summary>
    public required long StagingBytes { get; init; }

    /// <summary>Bytes of the output conversion buffer (output dtype other than the method's precision).</summary>
    public required long ConvertedBytes { get; init; }

    /// <summary>What the output's sinks hold at most (<see cref="ICheckpointSinkFactory.BufferBytes"/>).</summary>
    public required long SinkBufferBytes { get; init; }

    /// <summary>Under a memory budget, the most each input may hold in buffers of its own; null without a budget.</summary>
    public required long? SourceBufferLimit { get; init; }

    public long BytesPerSlot =>
        (NeedsFloats ? (Inputs.Length + 1) * (long)Capacity * sizeof(float) : 0)
        + (NeedsDoubles ? (Inputs.Length + 1) * (long)Capacity * sizeof(double) : 0)
        + (Inputs.Length * StagingBytes)
        + ConvertedBytes;

    public static MergePlan Create(
        IReadOnlyList<ICheckpointSource> members, ICheckpointSource? @base, CheckpointOutput output, IMergeMethod method, MergeEngineOptions options)
    {
        method.Validate(members.Count, @base is not null);
        if (members.Count == 0)
        {
            throw new ArgumentException("A merge needs at least one member.", nameof(members));
        }

        if (method is ITensorAwareMethod aware)
        {
            aware.Prepare([.. members[0].Tensors.Select(t => t.Name)]);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkElements, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.ChunkElements, MaxChunkElements, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PipelineDepth, 1, nameof(options));
        if (options.MemoryBudgetBytes is { } limit && (limit < 1 || limit <= output.Target.BufferBytes))
        {
            throw new MergeBudgetException(
                $"MemoryBudgetBytes {limit} leaves nothing for the merge: it must be positive and above the output's own buffers ({output.Target.BufferBytes} bytes).", nameof(options));
        }
        if (options.OutputDtype is { } requested && !FloatConversion.IsMergeable(requested))
        {
            throw new ArgumentException($"Output dtype {requested} is not supported: choose F16, BF16, F32 or F64.", nameof(options));
        }

        if (options.NonFloatTensors == NonFloatTensorRule.Base && @base is null)
        {
            throw new ArgumentException("NonFloatTensorRule.Base takes integer and BOOL tensors from the base, but no base was given.", nameof(options));
        }

        var inputs = @base is null ? members.ToArray() : [.. members, @base];
        var names = inputs.Select(s => s.Name).ToArray();
        MergeMembers.EnsureCompatible([.. inputs.Select(s => s.Tensors.Select(t => new TensorLayout(t.Name, t.Dtype, t.Shape)).ToArray())], names);

        var indexByName = inputs.Select(s =>
        {
            var map = new Dictionary<string, int>(s.Tensors.Count, StringComparer.Ordinal);
            for (var i = 0; i < s.Tensors.Count; i++)
            {
                map[s.Tensors[i].Name] = i;
            }

            return map;
        }).ToArray();

        var tensors = new List<TensorPlan>(members[0].Tensors.Count);
        foreach (var tensor in members[0].Tensors)
        {
            var kind = !FloatConversion.IsMergeable(tensor.Dtype) ? TensorKind.Copy
                : tensor.Dtype == SafetensorsDtype.F64 && (options.AccumulateInF64 || method is IMergeMethodF64) ? TensorKind.Double
                : TensorKind.Float;
            if (kind == TensorKind.Double && method is not IMergeMethodF64)
            {
                throw new NotSupportedException(
                    $"AccumulateInF64 was asked and tensor '{tensor.Name}' is F64, but method '{method.Name}' has no double-precision kernel ({nameof(IMergeMethodF64)}).");
            }

            var outputDtype = kind == TensorKind.Copy ? tensor.Dtype : options.OutputDtype ?? tensor.Dtype;
            tensors.Add(new TensorPlan(
                tensor.Name, tensor.Dtype, outputDtype, tensor.Shape, tensor.ElementCount,
                [.. indexByName.Select(m => m[tensor.Name])], kind, FileIndex: 0));
        }

        var capacity = ChooseCapacity(tensors, method, options);
        var (files, index) = PlanFiles(tensors, output, options.Metadata);
        var floats = tensors.Any(t => t.Kind == TensorKind.Float || (t.Kind == TensorKind.Double && t.OutputDtype != SafetensorsDtype.F64));
        var doubles = tensors.Any(t => t.Kind == TensorKind.Double);
        var stagedTensors = tensors.Where(t => t.Kind == TensorKind.Copy || (t.Kind == TensorKind.Float && t.InputDtype != SafetensorsDtype.F32)).ToList();
        var convertedTensors = tensors
            .Where(t => (t.Kind == TensorKind.Float && t.OutputDtype != SafetensorsDtype.F32) || (t.Kind == TensorKind.Double && t.OutputDtype != SafetensorsDtype.F64))
            .ToList();
        long Staging(int c) => stagedTensors.Select(t => Math.Min(c, t.Elements) * t.InputDtype.ElementSize()).DefaultIfEmpty(0).Max();
        long Converted(int c) => convertedTensors.Select(t => Math.Min(c, t.Elements) * t.OutputDtype.ElementSize()).DefaultIfEmpty(0).Max();
        long PerSlot(int c) => (floats ? (inputs.Length + 1) * (long)c * sizeof(float) : 0)
            + (doubles ? (inputs.Length + 1) * (long)c * sizeof(double) : 0)
            + (inputs.Length * Staging(c)) + Converted(c);

        var slots = method.IsElementwise ? options.PipelineDepth : Math.Min(options.PipelineDepth, 2);
        var sinkBytes = output.Target.BufferBytes;
        long? sourceLimit = null;
        if (options.MemoryBudgetBytes is { } budget)
        {
            (capacity, slots, sourceLimit) = FitBudget(budget, sinkBytes, capacity, slots, inputs, method, PerSlot);
        }

        var staging = Staging(capacity);
        var converted = Converted(capacity);
        if (staging > Array.MaxLength || converted > Array.MaxLength)
        {
            var largest = tensors.MaxBy(t => t.Elements)!;
            throw new NotSupportedException(
                $"Tensor '{largest.Name}' ({largest.Elements} elements of {largest.InputDtype}) is too large to pass whole to method '{method.Name}', which is not elementwise.");
        }

        return new MergePlan
        {
            Inputs = inputs,
            MemberCount = members.Count,
            HasBase = @base is not null,
            Tensors = tensors,
            Files = files,
            Index = index,
            Capacity = capacity,
            Slots = slots,
            NeedsFloats = floats,
            NeedsDoubles = doubles,
            StagingBytes = staging,
            ConvertedBytes = converted,
            SinkBufferBytes = sinkBytes,
            SourceBufferLimit = sourceLimit,
        };
    }

    /// <summary>
    /// Splits a memory budget: the output's buffers first; then the engine's chunk buffers get what they need up to
    /// half the rest (all of it when no input buffers on its own), chunks shrinking as inputs grow (elementwise methods
    /// only; whole-tensor methods drop to one chunk in flight, or fail); the inputs share what is left equally.
    /// </summary>
    private static (int Capacity, int Slots, long? SourceLimit) FitBudget(
        long budget, long sinkBytes, int capacity, int slots, ICheckpointSource[] inputs, IMergeMethod method, Func<int, long> perSlot)
    {
        var rest = budget - sinkBytes;
        var buffering = inputs.Any(i => i.BufferBytes > 0);
        var engineShare = buffering ? rest / 2 : rest;
        if (method.IsElementwise)
        {
            var perElement = Math.Max(1, (perSlot(capacity) + capacity - 1) / capacity);
            var fitting = engineShare / slots / perElement;
            if (fitting < MinBudgetChunkElements && capacity > MinBudgetChunkElements)
            {
                var needed = sinkBytes + ((buffering ? 2 : 1) * slots * perSlot(MinBudgetChunkElements));
                throw new MergeBudgetException(
                    $"MemoryBudgetBytes {budget} is too small to merge {inputs.Length} inputs: {slots} chunks in flight of at least {MinBudgetChunkElements} "
                    + $"elements per input{(buffering ? ", as much again for the inputs' read-ahead" : "")}{(sinkBytes > 0 ? $" and {sinkBytes} bytes for the output's buffers" : "")} "
                    + $"need at least {needed} bytes. Raise the budget (or lower PipelineDepth).");
            }

            var floor = Math.Min(capacity, MinBudgetChunkElements);
            capacity = (int)Math.Min(capacity, Math.Max(fitting, floor));

            // Buffers that do not scale with the chunk (small staged tensors) can still tip it over: step down.
            while (capacity > floor && slots * perSlot(capacity) > engineShare)
            {
                var excess = (slots * perSlot(capacity)) - engineShare;
                capacity = (int)Math.Max(floor, capacity - Math.Max(1, excess / (slots * perElement)) - 1);
            }
        }
        else if (slots * perSlot(capacity) > rest)
        {
            slots = 1;
            if (perSlot(capacity) > rest)
            {
                throw new MergeBudgetException(
                    $"MemoryBudgetBytes {budget} is too small for method '{method.Name}', which is not elementwise: it takes whole tensors, and the largest "
                    + $"one of {inputs.Length} inputs needs {perSlot(capacity)} bytes of buffers{(sinkBytes > 0 ? $" besides {sinkBytes} for the output's" : "")}. Raise the budget.");
            }
        }

        var engine = slots * perSlot(capacity);
        return (capacity, slots, Math.Max(0, (rest - engine) / inputs.Length));
    }

    private static int ChooseCapacity(List<TensorPlan> tensors, IMergeMethod method, MergeEngineOptions options)
    {
        var largest = tensors.Select(t => t.Elements).DefaultIfEmpty(1).Max();
        if (method.IsElementwise)
        {
            return (int)Math.Clamp(largest, 1, options.ChunkElements);
        }

        // Whole tensors: the largest floating tensor sets the buffers; integer tensors are chunked at that size.
        var merged = tensors.Where(t => t.Kind != TensorKind.Copy).MaxBy(t => t.Elements);
        if (merged is null)
        {
            return (int)Math.Clamp(largest, 1, options.ChunkElements);
        }

        // Whole-tensor buffers are float (double) arrays also seen as bytes, so they must stay under 2 GiB.
        var limit = int.MaxValue / (merged.Kind == TensorKind.Double ? sizeof(double) : sizeof(float));
        if (merged.Elements > limit)
        {
            throw new NotSupportedException(
                $"Tensor '{merged.Name}' has {merged.Elements} elements, too many to pass whole to method '{method.Name}', which is not elementwise (at most {limit}).");
        }

        return (int)Math.Max(1, merged.Elements);
    }

    private static (IReadOnlyList<FilePlan> Files, (string, byte[])? Index) PlanFiles(
        List<TensorPlan> tensors, CheckpointOutput output, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(output.FileName, nameof(output));
        var groups = new List<List<int>> { new() };
        if (output.ShardBytes is { } limit)
        {
            long size = 0;
            for (var i = 0; i < tensors.Count; i++)
            {
                var bytes = tensors[i].Elements * tensors[i].OutputDtype.ElementSize();
                if (groups[^1].Count > 0 && size + bytes > limit)
                {
                    groups.Add([]);
                    size = 0;
                }

                groups[^1].Add(i);
                size += bytes;
            }
        }
        else
        {
            groups[0].AddRange(Enumerable.Range(0, tensors.Count));
        }

        var files = new List<FilePlan>(groups.Count);
        for (var g = 0; g < groups.Count; g++)
        {
            var name = groups.Count == 1 ? output.FileName : ShardIndex.ShardFileName(output.FileName, g + 1, groups.Count);
            var header = SafetensorsHeaderWriter.Encode(groups[g].Select(i => new TensorLayout(tensors[i].Name, tensors[i].OutputDtype, tensors[i].Shape)), metadata);
            foreach (var i in groups[g])
            {
                tensors[i] = tensors[i] with { FileIndex = g };
            }

            files.Add(new FilePlan(name, header.Prefix, header.Prefix.Length + header.DataLength, header.Tensors));
        }

        if (files.Count == 1)
        {
            return (files, null);
        }

        var weightMap = tensors.Select(t => KeyValuePair.Create(t.Name, files[t.FileIndex].FileName));
        var totalSize = files.Sum(f => f.Length - f.Prefix.Length);
        return (files, (ShardIndex.IndexFileName(output.FileName), ShardIndex.Write(totalSize, weightMap)));
    }
}
