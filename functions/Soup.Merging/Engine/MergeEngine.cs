using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>
/// Merges checkpoints of any size with any <see cref="IMergeMethod"/>, from any <see cref="ICheckpointSource"/>s to
/// any <see cref="CheckpointOutput"/>, in bounded memory.
/// </summary>
/// <remarks>
/// <para><b>Validation first.</b> Before anything is written: <see cref="IMergeMethod.Validate"/>, at least one member,
/// the options, and that every member (and the base) holds the same tensor names, dtypes and shapes (the error names
/// the input and the tensor). Float8 tensors are not supported.</para>
/// <para><b>Output.</b> Tensors in the first member's order. The header of every output file is computed from the
/// inputs' headers, so each file is written header first, then data, sequentially. Files are staged and committed only
/// once every byte of every file is staged; a sharded output commits its shards and then its index. A failure or a
/// cancellation at any point leaves nothing visible (committed shards of a failed index commit are deleted).</para>
/// <para><b>Streaming.</b> For elementwise methods each tensor is processed in chunks of
/// <see cref="MergeEngineOptions.ChunkElements"/> elements; non-elementwise methods get whole tensors, so their memory is
/// about (inputs + 2) × largest tensor × 4 bytes per chunk in flight (at most 2). Three stages overlap, linked by
/// channels over a fixed pool of chunk buffers: reads for the next chunks (all inputs at once; remote sources in
/// parallel ranged requests), the method on the current chunk, and writing of the previous one. Memory is therefore
/// flat whatever the model size: <see cref="MergeEngineSummary.BufferBytes"/> for the engine, plus what sources and
/// sinks hold (none for files; <see cref="BlobSourceOptions"/> read-ahead windows, <see cref="BlockBlobSinkOptions"/>
/// blocks in flight). Whatever the member count too: all three stay within <see cref="MergeEngineOptions.MemoryBudgetBytes"/>
/// (smaller chunks, sources' buffers limited through <see cref="ICheckpointSource.LimitBuffers"/> before the first read;
/// <see cref="MergeEngineSummary.TotalBufferBytes"/> says what was granted).</para>
/// <para><b>Numerics.</b> F16, BF16 and F32 are converted to F32 for the method (exact), F64 too unless
/// <see cref="MergeEngineOptions.AccumulateInF64"/>; results are written in <see cref="MergeEngineOptions.OutputDtype"/>
/// or the input's dtype, rounding to nearest even. Integer and BOOL tensors follow
/// <see cref="MergeEngineOptions.NonFloatTensors"/>. NaN/Inf in the inputs follow <see cref="MergeEngineOptions.NonFinite"/>.</para>
/// </remarks>
public static class MergeEngine
{
    /// <summary>Merges <paramref name="members"/> (and <paramref name="base"/>) into <paramref name="output"/>.</summary>
    /// <param name="members">The checkpoints to merge, in the order the method's weights refer to.</param>
    /// <param name="base">The base (pre-trained) checkpoint for methods that use task vectors; null for none.</param>
    /// <param name="output">Where to write, and whether to shard.</param>
    /// <param name="method">The merge method.</param>
    /// <param name="options">Chunking, numerics, progress; defaults when null.</param>
    /// <param name="cancellationToken">Stops the merge; nothing is left visible.</param>
    /// <exception cref="ArgumentException">The method rejects the member count or base, no members, or bad options.</exception>
    /// <exception cref="InvalidDataException">The inputs differ in tensors, dtypes or shapes; a non-floating tensor differs
    /// under <see cref="NonFloatTensorRule.RequireEqual"/>; a NaN/Inf under <see cref="NonFinitePolicy.Fail"/>.</exception>
    /// <exception cref="SafetensorsFormatException">An input is malformed or was truncated.</exception>
    /// <exception cref="NotSupportedException">Float8 tensors; F64 accumulation with a method that lacks it; a tensor
    /// too large to pass whole to a non-elementwise method.</exception>
    public static async Task<MergeEngineSummary> RunAsync(
        IReadOnlyList<ICheckpointSource> members,
        ICheckpointSource? @base,
        CheckpointOutput output,
        IMergeMethod method,
        MergeEngineOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(method);
        foreach (var member in members)
        {
            ArgumentNullException.ThrowIfNull(member, nameof(members));
        }

        options ??= new MergeEngineOptions();
        var stopwatch = Stopwatch.StartNew();
        var plan = MergePlan.Create(members, @base, output, method, options);
        cancellationToken.ThrowIfCancellationRequested();
        var run = new MergeRun(plan, output.Target, method, options);
        return await run.ExecuteAsync(stopwatch, cancellationToken);
    }

    /// <summary>The buffers of one chunk in flight; a fixed number are allocated per merge and recycled.</summary>
    private sealed class Slot
    {
        public Slot(MergePlan plan)
        {
            var inputs = plan.Inputs.Length;
            var capacity = plan.Capacity;
            if (plan.NeedsFloats)
            {
                Floats = [.. Enumerable.Range(0, inputs).Select(_ => GC.AllocateUninitializedArray<float>(capacity))];
                FloatBytes = [.. Floats.Select(f => new ArrayBytes<float>(f))];
                MemberFloats = Floats[..plan.MemberCount];
                BaseFloats = plan.HasBase ? Floats[^1] : null;
                Output = new ArrayBytes<float>(GC.AllocateUninitializedArray<float>(capacity));
            }

            if (plan.NeedsDoubles)
            {
                Doubles = [.. Enumerable.Range(0, inputs).Select(_ => GC.AllocateUninitializedArray<double>(capacity))];
                DoubleBytes = [.. Doubles.Select(f => new ArrayBytes<double>(f))];
                MemberDoubles = Doubles[..plan.MemberCount];
                BaseDoubles = plan.HasBase ? Doubles[^1] : null;
                OutputDoubles = new ArrayBytes<double>(GC.AllocateUninitializedArray<double>(capacity));
            }

            Staging = [.. Enumerable.Range(0, plan.StagingBytes > 0 ? inputs : 0).Select(_ => GC.AllocateUninitializedArray<byte>((int)plan.StagingBytes))];
            Converted = plan.ConvertedBytes > 0 ? GC.AllocateUninitializedArray<byte>((int)plan.ConvertedBytes) : [];
        }

        public float[][] Floats { get; } = [];

        public ArrayBytes<float>[] FloatBytes { get; } = [];

        public float[][] MemberFloats { get; } = [];

        public float[]? BaseFloats { get; }

        public ArrayBytes<float>? Output { get; }

        public double[][] Doubles { get; } = [];

        public ArrayBytes<double>[] DoubleBytes { get; } = [];

        public double[][] MemberDoubles { get; } = [];

        public double[]? BaseDoubles { get; }

        public ArrayBytes<double>? OutputDoubles { get; }

        public byte[][] Staging { get; }

        public byte[] Converted { get; }

        public int Tensor { get; set; }

        public long Offset { get; set; }

        public int Length { get; set; }

        public bool Last { get; set; }

        public Task? ReadTask { get; set; }

        public ReadOnlyMemory<byte> Result { get; set; }
    }

    /// <summary>One execution of a plan: the three pipeline stages, then staging completion and commits.</summary>
    private sealed class MergeRun(MergePlan plan, ICheckpointSinkFactory target, IMergeMethod method, MergeEngineOptions options)
    {
        private readonly ICheckpointSink?[] _sinks = new ICheckpointSink?[plan.Files.Count];
        private readonly Dictionary<(int Tensor, int Input), long> _nonFinite = [];
        private Slot[] _slots = [];
        private long _bytesRead;
        private long _bytesWritten;
        private int _tensorsWritten;
        private int _filesStarted;
        private int _sinksCompleted;

        public async Task<MergeEngineSummary> ExecuteAsync(Stopwatch stopwatch, CancellationToken cancellationToken)
        {
            var committed = new List<string>();
            var succeeded = false;
            try
            {
                var sourceBytes = LimitSourceBuffers();
                _slots = [.. Enumerable.Range(0, plan.Slots).Select(_ => new Slot(plan))];
                await RunPipelineAsync(cancellationToken);
                for (var i = _sinksCompleted; i < _sinks.Length; i++)
                {
                    await _sinks[i]!.CompleteAsync(cancellationToken);
                }

                cancellationToken.ThrowIfCancellationRequested();
                for (var i = 0; i < _sinks.Length; i++)
                {
                    await _sinks[i]!.CommitAsync(cancellationToken);
                    committed.Add(plan.Files[i].FileName);
                }

                var written = plan.Files.Sum(f => f.Length);
                if (plan.Index is { } index)
                {
                    await using var sink = target.Create(index.FileName, index.Bytes.Length);
                    await sink.WriteAsync(index.Bytes, cancellationToken);
                    await sink.CompleteAsync(cancellationToken);
                    await sink.CommitAsync(cancellationToken);
                    committed.Add(index.FileName);
                    written += index.Bytes.Length;
                }

                succeeded = true;
                return new MergeEngineSummary(
                    plan.Tensors.Count,
                    plan.Tensors.Sum(t => t.Elements),
                    plan.MemberCount,
                    plan.HasBase,
                    _bytesRead,
                    written,
                    stopwatch.Elapsed,
                    [.. committed.Select(target.Describe)],
                    [.. _nonFinite.OrderBy(e => e.Key).Select(e => new NonFiniteInput(plan.Tensors[e.Key.Tensor].Name, plan.Inputs[e.Key.Input].Name, e.Value))],
                    plan.BytesPerSlot * _slots.Length)
                {
                    SourceBufferBytes = sourceBytes,
                    SinkBufferBytes = plan.SinkBufferBytes,
                    MemoryBudgetBytes = options.MemoryBudgetBytes,
                    ChunkElements = plan.Capacity,
                };
            }
            finally
            {
                _slots = [];
                foreach (var sink in _sinks)
                {
                    if (sink is not null)
                    {
                        await sink.DisposeAsync();
                    }
                }

                if (!succeeded)
                {
                    foreach (var file in committed)
                    {
                        await target.DeleteAsync(file, CancellationToken.None);
                    }

                    await target.AbandonAsync();
                }
            }
        }

        /// <summary>Gives each input its share of the budget (nothing without one), and checks that everything fits before
        /// a byte is read; returns what the inputs may hold.</summary>
        private long LimitSourceBuffers()
        {
            if (plan.SourceBufferLimit is not { } limit)
            {
                return plan.Inputs.Sum(i => i.BufferBytes);
            }

            var granted = plan.Inputs.Sum(i => i.LimitBuffers(limit));
            var total = granted + (plan.BytesPerSlot * plan.Slots) + plan.SinkBufferBytes;
            if (total > options.MemoryBudgetBytes)
            {
                throw new MergeBudgetException(
                    $"MemoryBudgetBytes {options.MemoryBudgetBytes} is too small to merge {plan.Inputs.Length} inputs: their own buffers need {granted} bytes at least, "
                    + $"the engine's chunks {plan.BytesPerSlot * plan.Slots} and the output's {plan.SinkBufferBytes} ({total} in all). Raise the budget.");
            }

            return granted;
        }

        private async Task RunPipelineAsync(CancellationToken cancellationToken)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var token = stop.Token;
            var free = Channel.CreateUnbounded<Slot>();
            var read = Channel.CreateUnbounded<Slot>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var computed = Channel.CreateUnbounded<Slot>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            foreach (var slot in _slots)
            {
                free.Writer.TryWrite(slot);
            }

            var errors = new ConcurrentQueue<Exception>();
            Task Stage(Func<Task> body, ChannelWriter<Slot>? next) => Task.Run(async () =>
            {
                try
                {
                    await body();
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                    await stop.CancelAsync();
                }
                finally
                {
                    next?.TryComplete();
                }
            });

            await Task.WhenAll(
                Stage(() => ReadStageAsync(free.Reader, read.Writer, token), read.Writer),
                Stage(() => ComputeStageAsync(read.Reader, computed.Writer, token), computed.Writer),
                Stage(() => WriteStageAsync(computed.Reader, free.Writer, token), null));

            // Reads still in flight (after a failure) must end before their buffers and sources go.
            foreach (var slot in _slots)
            {
                if (slot.ReadTask is { } pending)
                {
                    try
                    {
                        await pending;
                    }
                    catch (Exception)
                    {
                        // Reported through the stage that awaited it, or irrelevant after another failure.
                    }
                }
            }

            if (!errors.IsEmpty)
            {
                var cause = errors.FirstOrDefault(e => e is not OperationCanceledException) ?? errors.First();
                if (cause is OperationCanceledException)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                ExceptionDispatchInfo.Throw(cause);
            }
        }

        private async Task ReadStageAsync(ChannelReader<Slot> free, ChannelWriter<Slot> next, CancellationToken token)
        {
            for (var t = 0; t < plan.Tensors.Count; t++)
            {
                var tensor = plan.Tensors[t];
                long offset = 0;
                do
                {
                    token.ThrowIfCancellationRequested();
                    var slot = await free.ReadAsync(token);
                    var length = (int)Math.Min(plan.Capacity, tensor.Elements - offset);
                    slot.Tensor = t;
                    slot.Offset = offset;
                    slot.Length = length;
                    slot.Last = offset + length == tensor.Elements;
                    slot.ReadTask = ReadInputsAsync(slot, tensor, token);
                    next.TryWrite(slot);
                    offset += length;
                }
                while (offset < tensor.Elements);
            }
        }

        /// <summary>Starts the reads of every input this chunk needs; local sources complete before this returns.</summary>
        private async Task ReadInputsAsync(Slot slot, TensorPlan tensor, CancellationToken token)
        {
            if (slot.Length == 0)
            {
                return;
            }

            var elementSize = tensor.InputDtype.ElementSize();
            var byteOffset = slot.Offset * elementSize;
            var byteLength = slot.Length * elementSize;
            var (first, end) = tensor.Kind != TensorKind.Copy ? (0, plan.Inputs.Length) : options.NonFloatTensors switch
            {
                NonFloatTensorRule.FirstMember => (0, 1),
                NonFloatTensorRule.Base => (plan.Inputs.Length - 1, plan.Inputs.Length),
                _ => (0, plan.MemberCount),
            };

            List<Task>? pending = null;
            Exception? failure = null;
            for (var i = first; i < end && failure is null; i++)
            {
                var destination = tensor.Kind switch
                {
                    TensorKind.Float when tensor.InputDtype == SafetensorsDtype.F32 => slot.FloatBytes[i].Memory[..byteLength],
                    TensorKind.Double => slot.DoubleBytes[i].Memory[..byteLength],
                    _ => slot.Staging[i].AsMemory(0, byteLength),
                };
                try
                {
                    var task = plan.Inputs[i].ReadAsync(tensor.SourceIndex[i], byteOffset, destination, token);
                    if (task.IsCompletedSuccessfully)
                    {
                        task.GetAwaiter().GetResult();
                    }
                    else
                    {
                        (pending ??= []).Add(task.AsTask());
                    }
                }
                catch (Exception ex)
                {
                    failure = ex;
                }

                _bytesRead += byteLength;
            }

            if (pending is not null)
            {
                var all = Task.WhenAll(pending);
                try
                {
                    await all;
                }
                catch when (failure is null && all.Exception is { } aggregate)
                {
                    failure = aggregate.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? aggregate.InnerExceptions[0];
                }
                catch (Exception) when (failure is not null)
                {
                    // The first failure is the one reported.
                }
            }

            if (failure is not null)
            {
                ExceptionDispatchInfo.Throw(failure);
            }
        }

        private async Task ComputeStageAsync(ChannelReader<Slot> input, ChannelWriter<Slot> next, CancellationToken token)
        {
            await foreach (var slot in input.ReadAllAsync(token))
            {
                await slot.ReadTask!;
                token.ThrowIfCancellationRequested();
                Compute(slot);
                next.TryWrite(slot);
            }
        }

        private void Compute(Slot slot)
        {
            var tensor = plan.Tensors[slot.Tensor];
            var length = slot.Length;
            if (length == 0)
            {
                slot.Result = ReadOnlyMemory<byte>.Empty;
                return;
            }

            switch (tensor.Kind)
            {
                case TensorKind.Float:
                    ComputeFloat(slot, tensor, length);
                    break;
                case TensorKind.Double:
                    ComputeDouble(slot, tensor, length);
                    break;
                default:
                    ComputeCopy(slot, tensor, length);
                    break;
            }
        }

        private void ComputeFloat(Slot slot, TensorPlan tensor, int length)
        {
            var inputBytes = length * tensor.InputDtype.ElementSize();
            for (var i = 0; i < plan.Inputs.Length; i++)
            {
                if (tensor.InputDtype != SafetensorsDtype.F32)
                {
                    FloatConversion.ToSingle(tensor.InputDtype, slot.Staging[i].AsSpan(0, inputBytes), slot.Floats[i].AsSpan(0, length));
                }

                if (options.NonFinite != NonFinitePolicy.Ignore)
                {
                    CheckFinite(slot, i, FloatConversion.CountNonFinite<float>(slot.Floats[i].AsSpan(0, length)));
                }
            }

            var output = slot.Output!;
            method.Merge(new MergeChunk
            {
                Tensor = tensor.Name,
                Offset = slot.Offset,
                Length = length,
                TensorLength = tensor.Elements,
                Members = slot.MemberFloats,
                Base = slot.BaseFloats,
                Output = output.Array,
            });

            if (tensor.OutputDtype == SafetensorsDtype.F32)
            {
                slot.Result = output.Memory[..(length * sizeof(float))];
            }
            else
            {
                var bytes = length * tensor.OutputDtype.ElementSize();
                FloatConversion.FromSingle(tensor.OutputDtype, output.Array.AsSpan(0, length), slot.Converted.AsSpan(0, bytes));
                slot.Result = slot.Converted.AsMemory(0, bytes);
            }
        }

        private void ComputeDouble(Slot slot, TensorPlan tensor, int length)
        {
            if (options.NonFinite != NonFinitePolicy.Ignore)
            {
                for (var i = 0; i < plan.Inputs.Length; i++)
                {
                    CheckFinite(slot, i, FloatConversion.CountNonFinite<double>(slot.Doubles[i].AsSpan(0, length)));
                }
            }

            var output = slot.OutputDoubles!;
            ((IMergeMethodF64)method).MergeF64(new MergeChunkF64
            {
                Tensor = tensor.Name,
                Offset = slot.Offset,
                Length = length,
                TensorLength = tensor.Elements,
                Members = slot.MemberDoubles,
                Base = slot.BaseDoubles,
                Output = output.Array,
            });

            if (tensor.OutputDtype == SafetensorsDtype.F64)
            {
                slot.Result = output.Memory[..(length * sizeof(double))];
            }
            else
            {
                var bytes = length * tensor.OutputDtype.ElementSize();
                FloatConversion.FromDouble(tensor.OutputDtype, output.Array.AsSpan(0, length), slot.Converted.AsSpan(0, bytes), slot.Output!.Array);
                slot.Result = slot.Converted.AsMemory(0, bytes);
            }
        }

        private void ComputeCopy(Slot slot, TensorPlan tensor, int length)
        {
            var bytes = length * tensor.InputDtype.ElementSize();
            switch (options.NonFloatTensors)
            {
                case NonFloatTensorRule.Base:
                    slot.Result = slot.Staging[plan.Inputs.Length - 1].AsMemory(0, bytes);
                    return;
                case NonFloatTensorRule.RequireEqual:
                    var first = slot.Staging[0].AsSpan(0, bytes);
                    for (var m = 1; m < plan.MemberCount; m++)
                    {
                        if (!first.SequenceEqual(slot.Staging[m].AsSpan(0, bytes)))
                        {
                            var start = slot.Offset * tensor.InputDtype.ElementSize();
                            throw new InvalidDataException(
                                $"Tensor '{tensor.Name}' has dtype {tensor.InputDtype}, which is not merged, so every member must hold the same bytes "
                                + $"(NonFloatTensorRule.RequireEqual); but '{plan.Inputs[m].Name}' differs from '{plan.Inputs[0].Name}' (within bytes {start}..{start + bytes}).");
                        }
                    }

                    break;
            }

            slot.Result = slot.Staging[0].AsMemory(0, bytes);
        }

        private void CheckFinite(Slot slot, int input, long count)
        {
            if (count == 0)
            {
                return;
            }

            var tensor = plan.Tensors[slot.Tensor];
            if (options.NonFinite == NonFinitePolicy.Fail)
            {
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' of '{plan.Inputs[input].Name}' holds {count} NaN or infinite value(s) within elements "
                    + $"{slot.Offset}..{slot.Offset + slot.Length}; the merge was asked to fail on non-finite inputs (NonFinitePolicy.Fail).");
            }

            _nonFinite[(slot.Tensor, input)] = _nonFinite.GetValueOrDefault((slot.Tensor, input)) + count;
        }

        private async Task WriteStageAsync(ChannelReader<Slot> input, ChannelWriter<Slot> free, CancellationToken token)
        {
            var total = plan.Files.Sum(f => f.Length);
            await foreach (var slot in input.ReadAllAsync(token))
            {
                var tensor = plan.Tensors[slot.Tensor];
                await StartFilesThroughAsync(tensor.FileIndex, token);
                if (!slot.Result.IsEmpty)
                {
                    await _sinks[tensor.FileIndex]!.WriteAsync(slot.Result, token);
                    _bytesWritten += slot.Result.Length;
                }

                if (slot.Last)
                {
                    _tensorsWritten++;
                    options.Progress?.Report(new MergeProgress(_tensorsWritten, plan.Tensors.Count, _bytesWritten, total));
                }

                slot.Result = default;
                slot.ReadTask = null;
                free.TryWrite(slot);
            }

            await StartFilesThroughAsync(plan.Files.Count - 1, token);
        }

        /// <summary>Creates the sinks of files up to <paramref name="file"/> and writes their headers.</summary>
        private async Task StartFilesThroughAsync(int file, CancellationToken token)
        {
            while (_filesStarted <= file)
            {
                // A file is finished once the next one starts: complete it now, so that its buffers go before the next
                // sink's are taken (one sink's buffers at a time, as ICheckpointSinkFactory.BufferBytes counts).
                for (; _sinksCompleted < _filesStarted; _sinksCompleted++)
                {
                    await _sinks[_sinksCompleted]!.CompleteAsync(token);
                }

                var next = plan.Files[_filesStarted];
                var sink = target.Create(next.FileName, next.Length);
                _sinks[_filesStarted++] = sink;
                await sink.WriteAsync(next.Prefix, token);
                _bytesWritten += next.Prefix.Length;
            }
        }
    }
}
