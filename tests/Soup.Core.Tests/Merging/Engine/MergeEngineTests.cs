using System.Runtime.InteropServices;
using System.Text.Json;
using Soup.Merging.Checkpoints;
using Soup.Merging;
using Soup.Merging.Engine;
using Soup.Core.Tests.Checkpoints;
using static Soup.Core.Tests.Merging.Engine.EngineTestData;
using Soup.Merging.Methods;

namespace Soup.Core.Tests.Merging.Engine;

public sealed class MergeEngineTests : IDisposable
{
    private readonly TempDirectory _inputs = new();
    private readonly TempDirectory _outputs = new();

    public void Dispose()
    {
        _inputs.Dispose();
        _outputs.Dispose();
    }

    private string Output => _outputs.File("soup.safetensors");

    [Fact]
    public async Task FileInFileOut_EqualsInMemoryUniformAverage()
    {
        var members = Members(3, seed: 1);
        var sources = await OpenAllAsync(WriteFiles(_inputs, members));

        var summary = await MergeAsync(sources, CheckpointOutput.ToFile(Output));
        await DisposeAllAsync(sources);

        var expected = CheckpointMerge.UniformAverage([.. members.Select(m => (IReadOnlyList<TensorData>)m)]);
        var actual = await ReadAllAsync(Output);
        Assert.Equal(expected.Select(t => t.Name), actual.Select(t => t.Name));
        Assert.Equal(expected.Select(t => t.Data.ToArray()), actual.Select(t => t.Data));
        Assert.Equal(members[0].Length, summary.TensorCount);
        Assert.Equal(3, summary.MemberCount);
        Assert.Equal(new FileInfo(Output).Length, summary.BytesWritten);
        Assert.Equal(3 * members[0].Sum(t => (long)t.Data.Length), summary.BytesRead);
        Assert.Equal([Output], summary.OutputFiles);
        Assert.Empty(summary.NonFinite);
        Assert.Equal(["soup.safetensors"], _outputs.FileNames());
    }

    [Fact]
    public async Task ShardedIn_UnshardedOut_BitEqualToUnshardedIn()
    {
        var members = Members(3, seed: 2);
        var singles = WriteFiles(_inputs, members);
        var indexes = members.Select((m, i) => WriteSharded(_inputs.File($"sharded{i}"), m, shards: 3)).ToArray();
        var fromSingles = await OpenAllAsync(singles);
        var fromShards = await OpenAllAsync(indexes);
        var fromFolders = await OpenAllAsync(indexes.Select(Path.GetDirectoryName)!);

        await MergeAsync(fromSingles, CheckpointOutput.ToFile(_outputs.File("a.safetensors")));
        await MergeAsync(fromShards, CheckpointOutput.ToFile(_outputs.File("b.safetensors")));
        await MergeAsync(fromFolders, CheckpointOutput.ToFile(_outputs.File("c.safetensors")));
        await DisposeAllAsync([.. fromSingles, .. fromShards, .. fromFolders]);

        var a = await File.ReadAllBytesAsync(_outputs.File("a.safetensors"), TestContext.Current.CancellationToken);
        Assert.Equal(a, await File.ReadAllBytesAsync(_outputs.File("b.safetensors"), TestContext.Current.CancellationToken));
        Assert.Equal(a, await File.ReadAllBytesAsync(_outputs.File("c.safetensors"), TestContext.Current.CancellationToken));
        Assert.IsType<ShardedSource>(fromShards[0]);
        Assert.Equal(3, ((ShardedSource)fromShards[0]).Shards.Count);
    }

    [Fact]
    public async Task UnshardedIn_ShardedOut_ReadsBackEqual()
    {
        var members = Members(2, seed: 3, scale: 4);
        var sources = await OpenAllAsync(WriteFiles(_inputs, members));
        var folder = _outputs.File("sharded");
        const long shardBytes = 400;

        await MergeAsync(sources, CheckpointOutput.ToFile(Output));
        var summary = await MergeAsync(sources, CheckpointOutput.ToFolder(folder, shardBytes));
        await DisposeAllAsync(sources);

        var files = Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Contains("model.safetensors.index.json", files);
        var shards = files.Where(f => f!.StartsWith("model-", StringComparison.Ordinal)).ToArray();
        Assert.True(shards.Length >= 3, string.Join(", ", files));
        Assert.All(shards, s => Assert.Matches($@"^model-\d{{5}}-of-{shards.Length:D5}\.safetensors$", s));
        Assert.Equal(shards.Length + 1, files.Length);
        Assert.Equal(shards.Length + 1, summary.OutputFiles.Count);
        Assert.EndsWith("model.safetensors.index.json", summary.OutputFiles[^1], StringComparison.Ordinal);

        // Each shard holds at most shardBytes of data unless it holds a single tensor larger than that.
        foreach (var shard in shards)
        {
            using var file = SafetensorsFile.Open(Path.Combine(folder, shard!));
            var data = file.Tensors.Sum(t => t.ByteLength);
            Assert.True(data <= shardBytes || file.Tensors.Count == 1, $"{shard}: {data} bytes in {file.Tensors.Count} tensors");
        }

        using (var index = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, "model.safetensors.index.json"), TestContext.Current.CancellationToken)))
        {
            Assert.Equal(members[0].Sum(t => (long)t.Data.Length), index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            Assert.Equal(members[0].Length, index.RootElement.GetProperty("weight_map").EnumerateObject().Count());
        }

        var single = await ReadAllAsync(Output);
        var sharded = await ReadAllAsync(folder);
        Assert.Equal(single.Select(t => (t.Name, t.Dtype, t.Shape)), sharded.Select(t => (t.Name, t.Dtype, t.Shape)));
        Assert.Equal(single.Select(t => t.Data), sharded.Select(t => t.Data));
    }

    [Fact]
    public async Task ShardedOut_EverythingFitsOneShard_WritesOneFileWithoutIndex()
    {
        var sources = await OpenAllAsync(WriteFiles(_inputs, Members(2, seed: 4)));
        var folder = _outputs.File("one");

        await MergeAsync(sources, CheckpointOutput.ToFolder(folder, shardBytes: 1L << 30));
        await DisposeAllAsync(sources);

        Assert.Equal(["model.safetensors"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(SafetensorsDtype.F16)]
    [InlineData(SafetensorsDtype.BF16)]
    [InlineData(SafetensorsDtype.F64)]
    [InlineData(SafetensorsDtype.F32)]
    public async Task OutputDtype_ConvertsFloatingTensorsOnly(SafetensorsDtype dtype)
    {
        var random = new Random(5);
        var members = Enumerable.Range(0, 3).Select(_ => new[]
        {
            TestTensors.F32("w", [300], TestTensors.RandomFloats(random, 300)),
            TestTensors.I64("n", [2], [7, 8]),
        }).ToArray();
        var sources = await OpenAllAsync(WriteFiles(_inputs, members));

        await MergeAsync(sources, CheckpointOutput.ToFile(_outputs.File("f32.safetensors")));
        await MergeAsync(sources, CheckpointOutput.ToFile(Output), new MergeEngineOptions { OutputDtype = dtype, ChunkElements = 64 });
        await DisposeAllAsync(sources);

        var mean = Floats((await ReadAllAsync(_outputs.File("f32.safetensors")))[0].Data);
        var converted = await ReadAllAsync(Output);
        Assert.Equal(dtype, converted[0].Dtype);
        Assert.Equal(SafetensorsDtype.I64, converted[1].Dtype);
        Assert.Equal([7L, 8L], MemoryMarshal.Cast<byte, long>(converted[1].Data).ToArray());
        var data = converted[0].Data;
        var actual = dtype switch
        {
            SafetensorsDtype.F16 => MemoryMarshal.Cast<byte, Half>(data).ToArray().Select(h => (double)h).ToArray(),
            SafetensorsDtype.BF16 => MemoryMarshal.Cast<byte, ushort>(data).ToArray().Select(b => (double)BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray(),
            SafetensorsDtype.F64 => MemoryMarshal.Cast<byte, double>(data).ToArray(),
            _ => Floats(data).Select(f => (double)f).ToArray(),
        };
        var expected = dtype switch
        {
            SafetensorsDtype.F16 => mean.Select(f => (double)(Half)f).ToArray(),
            SafetensorsDtype.BF16 => mean.Select(RoundToBFloat16).ToArray(),
            _ => mean.Select(f => (double)f).ToArray(),
        };
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task F64_ConvertedToFloatByDefault_AccumulatedInDoubleWhenAsked()
    {
        // 1 + 2^-40 is not representable in F32.
        var value = 1.0 + Math.Pow(2, -40);
        var member = new[] { new TensorData("w", SafetensorsDtype.F64, [1], BitConverter.GetBytes(value)) };
        ICheckpointSource[] sources = [new InMemorySource("a", member), new InMemorySource("b", member)];

        var viaFloat = new MemorySinkFactory();
        await MergeAsync(sources, new CheckpointOutput(viaFloat));
        var inDouble = new MemorySinkFactory();
        await MergeAsync(sources, new CheckpointOutput(inDouble), new MergeEngineOptions { AccumulateInF64 = true }, method: new LinearMethodF64(null, true));
        var ex = await Assert.ThrowsAsync<NotSupportedException>(() =>
            MergeAsync(sources, new CheckpointOutput(new MemorySinkFactory()), new MergeEngineOptions { AccumulateInF64 = true }));

        Assert.Equal(1.0, BitConverter.ToDouble(Safetensors.Read(viaFloat.Files["model.safetensors"], "a").Tensors[0].Data.Span));
        Assert.Equal(value, BitConverter.ToDouble(Safetensors.Read(inDouble.Files["model.safetensors"], "b").Tensors[0].Data.Span));
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(IMergeMethodF64), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public async Task F64_MergedByTheLinearMethodOfTheFactory_IsComputedInDouble_BitForBit(int members)
    {
        // Values F32 cannot hold (1 + 2^-40, pi, 1e-300 ...): the result must equal the mean computed in double.
        var random = new Random(members);
        var values = Enumerable.Range(0, members).Select(_ => Enumerable.Range(0, 64).Select(_ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-300, 300))).ToArray()).ToList();
        values[0][0] = 1.0 + Math.Pow(2, -40);
        ICheckpointSource[] sources = [.. values.Select((v, i) => new InMemorySource($"m{i}", [new TensorData("w", SafetensorsDtype.F64, [64], MemoryMarshal.AsBytes(v.AsSpan()).ToArray())]))];
        var sink = new MemorySinkFactory();

        await MergeAsync(sources, new CheckpointOutput(sink), method: MergeMethodFactory.Create(new MergeParameters { Method = "linear" }));

        var merged = MemoryMarshal.Cast<byte, double>(Safetensors.Read(sink.Files["model.safetensors"], "soup").Tensors.Single().Data.Span).ToArray();
        var expected = Enumerable.Range(0, 64).Select(j =>
        {
            var sum = values[0][j];
            for (var k = 1; k < members; k++)
                sum += values[k][j];
            return sum / members;
        }).ToArray();
        Assert.Equal(expected.Select(BitConverter.DoubleToInt64Bits), merged.Select(BitConverter.DoubleToInt64Bits));
    }

    [Theory]
    [InlineData("task_arithmetic", 3)]
    [InlineData("dare_linear", 3)]
    [InlineData("liti", 3)]
    [InlineData("ema", 1)]
    [InlineData("ties", 3)]
    [InlineData("dare_ties", 3)]
    [InlineData("nuslerp", 2)]
    public async Task F64_MergedByTaskVectorMethods_IsComputedInDouble(string name, int members)
    {
        // Base and members differ in the 12th significant digit: in F32 every task vector would vanish.
        var random = new Random(members + name.Length);
        var baseValues = Enumerable.Range(0, 64).Select(_ => 1000.0 + random.NextDouble()).ToArray();
        var values = Enumerable.Range(0, members).Select(_ => baseValues.Select(b => b + (random.NextDouble() * 1e-9)).ToArray()).ToList();
        static TensorData Tensor(double[] v) => new("w", SafetensorsDtype.F64, [v.Length], MemoryMarshal.AsBytes(v.AsSpan()).ToArray());
        ICheckpointSource[] sources = [.. values.Select((v, i) => new InMemorySource($"m{i}", [Tensor(v)]))];
        var parameters = new MergeParameters { Method = name, Lambda = 0.7, Eta = 0.25, Normalize = name is "ties" or "dare_ties" ? true : null };
        var sink = new MemorySinkFactory();

        await MergeAsync(sources, new CheckpointOutput(sink), @base: new InMemorySource("base", [Tensor(baseValues)]), method: MergeMethodFactory.Create(parameters));

        var merged = MemoryMarshal.Cast<byte, double>(Safetensors.Read(sink.Files["model.safetensors"], "soup").Tensors.Single().Data.Span).ToArray();
        // ties and dare_ties (density 1, every τ positive: all elected): the disjoint mean, λ·mean τ. nuslerp of task
        // vectors this short: mergekit clamps their norms at 1e-7, so Ω is about π/2 and each gets sin(Ω/2)/sin Ω.
        // (model_stock is not here: mergekit's 1e-6 floor under the product of norms makes such τ give t ≈ 0, the base.)
        var stock = NuslerpHalfway(values, baseValues);
        double Scale(int k) => name switch
        {
            "task_arithmetic" or "dare_linear" => 0.7,
            "liti" => 0.25 / members,
            "ties" or "dare_ties" => 0.7 / members,
            "nuslerp" => stock,
            _ => 0.25,
        };
        for (var j = 0; j < 64; j++)
        {
            var expected = baseValues[j] + Enumerable.Range(0, members).Sum(k => Scale(k) * (values[k][j] - baseValues[j]));
            Assert.True(Math.Abs(merged[j] - expected) <= 1e-12, $"{name}[{j}]: {merged[j]:R} vs {expected:R}");
            Assert.NotEqual(baseValues[j], merged[j]); // what F32 arithmetic gives (the step is below its precision)
        }
    }

    /// <summary>nuslerp's coefficient of each task vector at t = 0.5, in double (norms clamped at 1e-7, as mergekit).</summary>
    private static double NuslerpHalfway(IReadOnlyList<double[]> members, double[] baseValues)
    {
        var tau = members.Select(m => m.Select((v, j) => v - baseValues[j]).ToArray()).ToList();
        double Dot(double[] a, double[] b) => a.Select((v, j) => v * b[j]).Sum();
        if (tau.Count != 2)
            return 0;
        var cos = Dot(tau[0], tau[1]) / (Math.Max(Math.Sqrt(Dot(tau[0], tau[0])), 1e-7) * Math.Max(Math.Sqrt(Dot(tau[1], tau[1])), 1e-7));
        var omega = Math.Acos(Math.Clamp(cos, -1, 1));
        return Math.Abs(Math.Sin(omega)) < 1e-8 ? 0.5 : Math.Sin(omega / 2) / Math.Sin(omega);
    }

    [Theory]
    [InlineData("dare_linear")]
    [InlineData("dare_ties")]
    [InlineData("ties")]
    public async Task F64_DropsAndTrims_TakeTheSameElementsAsInF32(string name)
    {
        // Values exact in both precisions, density 1/2 (DARE's rescale 1/density = 2, exact; TIES keeps half): both merges
        // must give the same numbers. (mergekit's default L1 rescale divides two sums, which round differently in float.)
        var random = new Random(11);
        var baseValues = Enumerable.Range(0, 256).Select(_ => (double)random.Next(-100, 100)).ToArray();
        var members = Enumerable.Range(0, 2).Select(_ => baseValues.Select(b => b + random.Next(-8, 8)).ToArray()).ToList();
        async Task<double[]> MergeIn(SafetensorsDtype dtype)
        {
            TensorData Tensor(double[] v) => dtype == SafetensorsDtype.F64
                ? new("w", dtype, [v.Length], MemoryMarshal.AsBytes(v.AsSpan()).ToArray())
                : new("w", dtype, [v.Length], MemoryMarshal.AsBytes(v.Select(x => (float)x).ToArray().AsSpan()).ToArray());
            var sink = new MemorySinkFactory();
            await MergeAsync([.. members.Select((v, i) => (ICheckpointSource)new InMemorySource($"m{i}", [Tensor(v)]))], new CheckpointOutput(sink),
                @base: new InMemorySource("base", [Tensor(baseValues)]), method: MergeMethodFactory.Create(new MergeParameters { Method = name, Density = 0.5, Seed = 3, Rescale = name == "ties" ? null : MergeRescales.Density }));
            var data = Safetensors.Read(sink.Files["model.safetensors"], "soup").Tensors.Single().Data.Span;
            return dtype == SafetensorsDtype.F64 ? MemoryMarshal.Cast<byte, double>(data).ToArray() : [.. MemoryMarshal.Cast<byte, float>(data).ToArray().Select(f => (double)f)];
        }

        var inDouble = await MergeIn(SafetensorsDtype.F64);
        var inFloat = await MergeIn(SafetensorsDtype.F32);

        Assert.Equal(inFloat, inDouble);
        Assert.Contains(Enumerable.Range(0, 256), j => inDouble[j] == baseValues[j] && members.Any(m => m[j] != baseValues[j])); // some drops happened
    }

    [Fact]
    public void F64_TrimKeepsTheLargestMagnitudes_ThatDifferBelowFloatPrecision()
    {
        // 1 + k·2^-40 are one float: in F32 the trim could not tell them apart; in double it keeps the largest three.
        var tiny = Math.Pow(2, -40);
        double[] values = [1 + (2 * tiny), -(1 + (5 * tiny)), 1 + tiny, 1 + (4 * tiny), -(1 + (3 * tiny)), 0.5];
        MagnitudeTrim.KeepLargest<double>(values, 3);
        Assert.Equal([0, -(1 + (5 * tiny)), 0, 1 + (4 * tiny), -(1 + (3 * tiny)), 0], values);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancelled_MidMerge_LeavesNoOutputAndNoTemporaryFiles(bool sharded)
    {
        var paths = WriteFiles(_inputs, Members(3, seed: 6, scale: 50));
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var sources = (await OpenAllAsync(paths)).Select((s, i) => new ScriptedSource(s)
        {
            CancelAtRead = cancellation,
            CancelAfterReads = i == 1 ? 40 : -1,
        }).ToArray();
        var output = sharded ? CheckpointOutput.ToFolder(_outputs.File("sharded"), 500) : CheckpointOutput.ToFile(Output);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            MergeAsync(sources, output, new MergeEngineOptions { ChunkElements = 64 }, cancellationToken: cancellation.Token));
        await DisposeAllAsync(sources);

        Assert.True(sources[1].Reads >= 40);
        Assert.Empty(Directory.GetFileSystemEntries(_outputs.Path));
    }

    [Fact]
    public async Task MemberTruncatedAfterOpen_FailsNamingItAndLeavesNothing()
    {
        var paths = WriteFiles(_inputs, Members(3, seed: 7, scale: 20));
        var sources = await OpenAllAsync(paths);
        await using (var stream = new FileStream(paths[2], FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.SetLength(stream.Length - 100);
        }

        var ex = await Assert.ThrowsAsync<SafetensorsFormatException>(() =>
            MergeAsync(sources, CheckpointOutput.ToFolder(_outputs.File("sharded"), 300), new MergeEngineOptions { ChunkElements = 16 }));
        await DisposeAllAsync(sources);

        Assert.Equal(paths[2], ex.SourceName);
        Assert.Empty(Directory.GetFileSystemEntries(_outputs.Path));
    }

    [Fact]
    public async Task MemberReadFails_MidMerge_LeavesExistingOutputUntouched()
    {
        await File.WriteAllTextAsync(Output, "previous soup", TestContext.Current.CancellationToken);
        var sources = (await OpenAllAsync(WriteFiles(_inputs, Members(2, seed: 8, scale: 20))))
            .Select((s, i) => (ICheckpointSource)new ScriptedSource(s) { FailAtRead = i == 0 ? 6 : -1 }).ToArray();

        var ex = await Assert.ThrowsAsync<IOException>(() => MergeAsync(sources, CheckpointOutput.ToFile(Output), new MergeEngineOptions { ChunkElements = 32 }));
        await DisposeAllAsync(sources);

        Assert.Contains("scripted failure", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["soup.safetensors"], _outputs.FileNames());
        Assert.Equal("previous soup", await File.ReadAllTextAsync(Output, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task MalformedMember_FailsOnOpen()
    {
        var paths = WriteFiles(_inputs, Members(2, seed: 9));
        File.WriteAllBytes(paths[1], File.ReadAllBytes(paths[1])[..^3]);

        var ex = await Assert.ThrowsAsync<SafetensorsFormatException>(() => OpenAllAsync(paths));

        Assert.Equal(paths[1], ex.SourceName);
    }

    [Fact]
    public async Task DifferentShape_RejectedNamingMemberAndTensor()
    {
        var a = new InMemorySource("a", [TestTensors.F32("w", [2, 3], new float[6])]);
        var b = new InMemorySource("b", [TestTensors.F32("w", [3, 2], new float[6])]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([a, b], CheckpointOutput.ToFile(Output)));

        Assert.Contains("'b': tensor 'w': its shape is [3, 2]", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public async Task DifferentTensorSets_RejectedNamingTensor()
    {
        var a = new InMemorySource("a", [TestTensors.F32("w", [1], [1f]), TestTensors.F32("v", [1], [1f])]);
        var b = new InMemorySource("b", [TestTensors.F32("w", [1], [1f])]);
        var c = new InMemorySource("c", [TestTensors.F32("w", [1], [1f]), TestTensors.F32("v", [1], [1f]), TestTensors.F32("x", [1], [1f])]);
        var d = new InMemorySource("d", [TestTensors.F16("w", [1], [(Half)1]), TestTensors.F32("v", [1], [1f])]);

        var missing = await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([a, b], CheckpointOutput.ToFile(Output)));
        var extra = await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([a, c], CheckpointOutput.ToFile(Output)));
        var dtype = await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([a, d], CheckpointOutput.ToFile(Output)));
        var baseMismatch = await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([a, a], CheckpointOutput.ToFile(Output), @base: b));

        Assert.Contains("'b': tensor 'v': it is missing", missing.Message, StringComparison.Ordinal);
        Assert.Contains("'c': tensor 'x'", extra.Message, StringComparison.Ordinal);
        Assert.Contains("'d': tensor 'w': its dtype is F16", dtype.Message, StringComparison.Ordinal);
        Assert.Contains("'b': tensor 'v'", baseMismatch.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public async Task EmptyMembersOrWrongWeightCount_RejectedBeforeWriting()
    {
        var a = new InMemorySource("a", [TestTensors.F32("w", [1], [1f])]);

        var none = await Assert.ThrowsAnyAsync<ArgumentException>(() => MergeAsync([], CheckpointOutput.ToFile(Output)));
        var weights = await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            MergeAsync([a, a], CheckpointOutput.ToFile(Output), method: new LinearMethod([0.5, 0.3, 0.2], true)));
        var noBase = await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            MergeAsync([a], CheckpointOutput.ToFile(Output), new MergeEngineOptions { NonFloatTensors = NonFloatTensorRule.Base }));

        Assert.Contains("got none", none.Message, StringComparison.Ordinal);
        Assert.Contains("3 weight(s) for 2 member(s)", weights.Message, StringComparison.Ordinal);
        Assert.Contains("no base", noBase.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
    }

    [Fact]
    public async Task NonFinite_ReportedByDefault_FailsWhenAsked()
    {
        var clean = new InMemorySource("clean", [TestTensors.F32("a", [3], [1f, 2f, 3f]), TestTensors.F16("b", [2], [(Half)1, (Half)2])]);
        var dirty = new InMemorySource("dirty", [TestTensors.F32("a", [3], [float.NaN, 2f, float.PositiveInfinity]), TestTensors.F16("b", [2], [Half.NegativeInfinity, (Half)2])]);

        var summary = await MergeAsync([clean, dirty], CheckpointOutput.ToFile(Output), new MergeEngineOptions { ChunkElements = 2 });
        var ignored = await MergeAsync([clean, dirty], CheckpointOutput.ToFile(Output), new MergeEngineOptions { NonFinite = NonFinitePolicy.Ignore });
        File.Delete(Output);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() =>
            MergeAsync([clean, dirty], CheckpointOutput.ToFile(Output), new MergeEngineOptions { NonFinite = NonFinitePolicy.Fail }));

        Assert.Equal([new NonFiniteInput("a", "dirty", 2), new NonFiniteInput("b", "dirty", 1)], summary.NonFinite);
        Assert.Equal(3, summary.NonFiniteCount);
        Assert.Empty(ignored.NonFinite);
        Assert.Contains("Tensor 'a' of 'dirty' holds 2 NaN or infinite", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 2)]
    [InlineData(64, 3)]
    [InlineData(1 << 20, 4)]
    public async Task Chunked_EqualsWholeTensor(int chunkElements, int depth)
    {
        var members = Members(3, seed: 10, scale: 3);
        ICheckpointSource[] sources = [.. members.Select((m, i) => new InMemorySource($"m{i}", m))];
        var whole = new MemorySinkFactory();
        var chunked = new MemorySinkFactory();
        var method = new WholeTensorLinear();

        await MergeAsync(sources, new CheckpointOutput(whole), method: method);
        await MergeAsync(sources, new CheckpointOutput(chunked), new MergeEngineOptions { ChunkElements = chunkElements, PipelineDepth = depth });

        Assert.Equal(whole.Files["model.safetensors"], chunked.Files["model.safetensors"]);
        Assert.Equal(members[0].Count(t => t.Dtype != SafetensorsDtype.I64 && t.Data.Length > 0), method.Calls);
    }

    [Fact]
    public async Task MembersMuchLargerThanBuffers_MergeInBoundedMemory()
    {
        const int chunk = 4096;
        var random = new Random(11);
        var members = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 8)
            .Select(t => TestTensors.F32($"layer{t}", [256, 1024], TestTensors.RandomFloats(random, 256 * 1024))).ToArray()).ToArray();
        var sources = await OpenAllAsync(WriteFiles(_inputs, members));
        var memberBytes = new FileInfo(sources[0].Name).Length;

        var summary = await MergeAsync(sources, CheckpointOutput.ToFile(Output), new MergeEngineOptions { ChunkElements = chunk, PipelineDepth = 3 });
        await DisposeAllAsync(sources);

        // 3 chunks in flight × (4 inputs + 1 output) × 4096 floats: 240 KiB, against 8 MiB per member.
        Assert.Equal(3L * 5 * chunk * sizeof(float), summary.BufferBytes);
        Assert.True(summary.BufferBytes * 30 < memberBytes, $"{summary.BufferBytes} bytes of buffers for {memberBytes}-byte members");
        using var merged = SafetensorsFile.Open(Output);
        var actual = TestTensors.AsFloats(merged.ReadTensor("layer5"));
        for (var i = 0; i < actual.Length; i += 331)
        {
            Assert.Equal(members.Sum(m => (double)TestTensors.AsFloats(m[5].Data)[i]) / 4, actual[i], 1e-6);
        }
    }

    [Fact]
    public async Task NonFloatRules_RequireEqualFirstMemberBase()
    {
        TensorData[] Model(long n, float w) => [TestTensors.F32("w", [1], [w]), TestTensors.I64("n", [], [n])];
        var a = new InMemorySource("a", Model(1, 2f));
        var b = new InMemorySource("b", Model(2, 4f));
        var @base = new InMemorySource("base", Model(9, 0f));

        var differ = await Assert.ThrowsAsync<InvalidDataException>(() => MergeAsync([a, b], CheckpointOutput.ToFile(Output)));
        var first = new MemorySinkFactory();
        await MergeAsync([a, b], new CheckpointOutput(first), new MergeEngineOptions { NonFloatTensors = NonFloatTensorRule.FirstMember });
        var fromBase = new MemorySinkFactory();
        await MergeAsync([a, b], new CheckpointOutput(fromBase), new MergeEngineOptions { NonFloatTensors = NonFloatTensorRule.Base }, @base);

        Assert.Contains("Tensor 'n'", differ.Message, StringComparison.Ordinal);
        Assert.Contains("'b' differs from 'a'", differ.Message, StringComparison.Ordinal);
        Assert.Empty(_outputs.FileNames());
        var firstTensors = Safetensors.Read(first.Files["model.safetensors"], "first").Tensors;
        Assert.Equal(1L, BitConverter.ToInt64(firstTensors[1].Data.Span));
        Assert.Equal(3f, TestTensors.AsFloats(firstTensors[0].Data)[0]);
        Assert.Equal(9L, BitConverter.ToInt64(Safetensors.Read(fromBase.Files["model.safetensors"], "base").Tensors[1].Data.Span));
    }

    [Fact]
    public async Task Base_ReachesTheMethod()
    {
        var @base = new InMemorySource("base", [TestTensors.F32("w", [3], [1f, 1f, 1f])]);
        var a = new InMemorySource("a", [TestTensors.F32("w", [3], [2f, 1f, 0f])]);
        var b = new InMemorySource("b", [TestTensors.F32("w", [3], [1f, 3f, 1f])]);
        var target = new MemorySinkFactory();

        var summary = await MergeAsync([a, b], new CheckpointOutput(target), new MergeEngineOptions { ChunkElements = 2 }, @base, new BasePlusTaskVectors());
        var missing = await Assert.ThrowsAsync<ArgumentException>(() => MergeAsync([a, b], new CheckpointOutput(target), method: new BasePlusTaskVectors()));

        Assert.True(summary.HasBase);
        Assert.Equal([2f, 3f, 0f], TestTensors.AsFloats(Safetensors.Read(target.Files["model.safetensors"], "out").Tensors[0].Data));
        Assert.Contains("needs a base", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Progress_ReportsEveryTensorUpToTheTotal()
    {
        var members = Members(2, seed: 12);
        ICheckpointSource[] sources = [.. members.Select((m, i) => new InMemorySource($"m{i}", m))];
        var reports = new List<MergeProgress>();
        var progress = new SynchronousProgress(reports);

        await MergeAsync(sources, CheckpointOutput.ToFile(Output), new MergeEngineOptions { Progress = progress, ChunkElements = 16 });

        Assert.Equal(members[0].Length, reports.Count);
        Assert.Equal(Enumerable.Range(1, members[0].Length), reports.Select(r => r.TensorsWritten));
        Assert.Equal(new FileInfo(Output).Length, reports[^1].BytesWritten);
        Assert.Equal(reports[^1].TotalBytes, reports[^1].BytesWritten);
    }

    [Fact]
    public async Task Metadata_WrittenToEveryShard()
    {
        var sources = await OpenAllAsync(WriteFiles(_inputs, Members(2, seed: 13, scale: 4)));
        var folder = _outputs.File("sharded");

        await MergeAsync(sources, CheckpointOutput.ToFolder(folder, 800), new MergeEngineOptions { Metadata = new Dictionary<string, string> { ["format"] = "pt" } });
        await DisposeAllAsync(sources);

        var shards = Directory.GetFiles(folder, "model-*.safetensors");
        Assert.NotEmpty(shards);
        Assert.All(shards, s =>
        {
            using var file = SafetensorsFile.Open(s);
            Assert.Equal("pt", file.Metadata["format"]);
        });
    }

    [Fact]
    public async Task ShardedSource_IndexDisagreesWithShards_Rejected()
    {
        var index = WriteSharded(_inputs.File("bad"), Members(1, seed: 14)[0], shards: 2);
        var text = await File.ReadAllTextAsync(index, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(index, text.Replace("\"head.weight\": \"model-00002-of-00002", "\"head.weight\": \"model-00001-of-00002", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => CheckpointSources.OpenFileAsync(index, TestContext.Current.CancellationToken));

        Assert.Contains("'head.weight'", ex.Message, StringComparison.Ordinal);
    }

    private static double RoundToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var rounded = (bits + 0x7FFFu + ((bits >> 16) & 1)) & 0xFFFF0000u;
        return BitConverter.UInt32BitsToSingle(rounded);
    }

    private sealed class SynchronousProgress(List<MergeProgress> reports) : IProgress<MergeProgress>
    {
        public void Report(MergeProgress value) => reports.Add(value);
    }
}
