using System.Runtime.InteropServices;
using System.Text;
using Soup.Merging.Checkpoints;
using Soup.Merging;
using Soup.Merging.Engine;
using Soup.Core.Tests.Checkpoints;

namespace Soup.Core.Tests.Merging.Engine;

/// <summary>Members, sharded layouts and helpers for engine tests, written without the engine.</summary>
internal static class EngineTestData
{
    /// <summary>A small model of mixed dtypes: F32 matrices, an F16 and a BF16 vector, an I64 scalar, an empty tensor.</summary>
    public static TensorData[] Model(Random random, int scale = 1) =>
    [
        TestTensors.F32("embed.weight", [50 * scale, 8], TestTensors.RandomFloats(random, 400 * scale)),
        TestTensors.F32("layer0.weight", [16, 8], TestTensors.RandomFloats(random, 128)),
        TestTensors.F16("layer0.bias", [16], [.. TestTensors.RandomFloats(random, 16).Select(v => (Half)v)]),
        TestTensors.BF16("norm.weight", [8], [.. TestTensors.RandomFloats(random, 8).Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))]),
        TestTensors.I64("bn.num_batches_tracked", [], [1234]),
        TestTensors.F32("empty", [0, 4], []),
        TestTensors.F32("head.weight", [10, 8], TestTensors.RandomFloats(random, 80)),
    ];

    public static TensorData[][] Members(int count, int seed, int scale = 1)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Model(random, scale))];
    }

    public static string[] WriteFiles(TempDirectory directory, TensorData[][] members, string prefix = "m") =>
        [.. members.Select((tensors, i) =>
        {
            var path = directory.File($"{prefix}{i}.safetensors");
            TestTensors.WriteFile(path, tensors);
            return path;
        })];

    /// <summary>Writes <paramref name="tensors"/> as a Hugging Face sharded checkpoint in <paramref name="folder"/>,
    /// <paramref name="shards"/> shards of consecutive tensors, and a hand-written index.</summary>
    public static string WriteSharded(string folder, IReadOnlyList<TensorData> tensors, int shards)
    {
        Directory.CreateDirectory(folder);
        var perShard = (tensors.Count + shards - 1) / shards;
        var map = new StringBuilder();
        for (var s = 0; s < shards; s++)
        {
            var name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Skip(s * perShard).Take(perShard).ToArray();
            TestTensors.WriteFile(Path.Combine(folder, name), part, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var tensor in part)
            {
                map.Append(map.Length == 0 ? "" : ",\n").Append($"    \"{tensor.Name}\": \"{name}\"");
            }
        }

        var index = Path.Combine(folder, "model.safetensors.index.json");
        File.WriteAllText(index, $"{{\n  \"metadata\": {{\"total_size\": {tensors.Sum(t => t.Data.Length)}}},\n  \"weight_map\": {{\n{map}\n  }}\n}}\n");
        return index;
    }

    public static async Task<ICheckpointSource[]> OpenAllAsync(IEnumerable<string> paths)
    {
        var result = new List<ICheckpointSource>();
        foreach (var path in paths)
        {
            result.Add(await CheckpointSources.OpenFileAsync(path, TestContext.Current.CancellationToken));
        }

        return [.. result];
    }

    public static async Task DisposeAllAsync(IEnumerable<ICheckpointSource> sources)
    {
        foreach (var source in sources)
        {
            await source.DisposeAsync();
        }
    }

    /// <summary>Every tensor of a checkpoint (any layout) read whole, in its order.</summary>
    public static async Task<List<(string Name, SafetensorsDtype Dtype, string Shape, byte[] Data)>> ReadAllAsync(ICheckpointSource source)
    {
        var result = new List<(string, SafetensorsDtype, string, byte[])>();
        for (var i = 0; i < source.Tensors.Count; i++)
        {
            var tensor = source.Tensors[i];
            var data = new byte[tensor.ByteLength];
            await source.ReadAsync(i, 0, data, TestContext.Current.CancellationToken);
            result.Add((tensor.Name, tensor.Dtype, tensor.ShapeText, data));
        }

        return result;
    }

    public static async Task<List<(string Name, SafetensorsDtype Dtype, string Shape, byte[] Data)>> ReadAllAsync(string path)
    {
        await using var source = await CheckpointSources.OpenFileAsync(path, TestContext.Current.CancellationToken);
        return await ReadAllAsync(source);
    }

    public static float[] Floats(byte[] data) => MemoryMarshal.Cast<byte, float>(data).ToArray();

    /// <summary>Runs the engine with the uniform linear method.</summary>
    public static Task<MergeEngineSummary> MergeAsync(
        IReadOnlyList<ICheckpointSource> members, CheckpointOutput output, MergeEngineOptions? options = null, ICheckpointSource? @base = null,
        IMergeMethod? method = null, CancellationToken? cancellationToken = null) =>
        MergeEngine.RunAsync(members, @base, output, method ?? new LinearMethod(null, true), options, cancellationToken ?? TestContext.Current.CancellationToken);
}

/// <summary>Wraps a source; can fail, cancel or count at the n-th read.</summary>
internal sealed class ScriptedSource(ICheckpointSource inner) : ICheckpointSource
{
    private int _reads;

    public int Reads => _reads;

    public int FailAtRead { get; init; } = -1;

    public CancellationTokenSource? CancelAtRead { get; init; }

    public int CancelAfterReads { get; init; } = -1;

    public string Name => inner.Name;

    public IReadOnlyList<TensorInfo> Tensors => inner.Tensors;

    public IReadOnlyDictionary<string, string> Metadata => inner.Metadata;

    public async ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var read = Interlocked.Increment(ref _reads);
        if (read == FailAtRead)
        {
            throw new IOException($"scripted failure at read {read}");
        }

        if (read == CancelAfterReads)
        {
            await CancelAtRead!.CancelAsync();
        }

        await inner.ReadAsync(tensorIndex, byteOffset, destination, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>The linear method seen as not elementwise, so the engine passes whole tensors.</summary>
internal sealed class WholeTensorLinear : IMergeMethod
{
    private readonly LinearMethod _inner = new(null, true);

    public int Calls { get; private set; }

    public string Name => "whole-linear";

    public bool IsElementwise => false;

    public void Validate(int memberCount, bool hasBase) => _inner.Validate(memberCount, hasBase);

    public void Merge(MergeChunk chunk)
    {
        Calls++;
        Assert.Equal(0, chunk.Offset);
        Assert.Equal(chunk.TensorLength, chunk.Length);
        _inner.Merge(chunk);
    }
}

/// <summary>Task arithmetic in miniature: base + Σ (member − base), to see that the base reaches the method.</summary>
internal sealed class BasePlusTaskVectors : IMergeMethod
{
    public string Name => "base-plus";

    public bool IsElementwise => true;

    public void Validate(int memberCount, bool hasBase)
    {
        if (!hasBase)
        {
            throw new ArgumentException("base-plus needs a base");
        }
    }

    public void Merge(MergeChunk chunk)
    {
        for (var i = 0; i < chunk.Length; i++)
        {
            var value = chunk.Base![i];
            foreach (var member in chunk.Members)
            {
                value += member[i] - chunk.Base[i];
            }

            chunk.Output[i] = value;
        }
    }
}
