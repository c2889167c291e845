using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;
using Soup.Core.Tests.Checkpoints;
using static Soup.Core.Tests.Merging.Engine.EngineTestData;

namespace Soup.Core.Tests.Merging.Engine;

/// <summary>Blob sources and block-blob sinks against Azurite.</summary>
public sealed class BlobMergeTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private static readonly BlobSourceOptions SmallRanges = new() { RangeBytes = 4096, MaxConcurrentRequests = 4 };
    private static readonly BlockBlobSinkOptions SmallBlocks = new() { BlockBytes = 4096, MaxConcurrentUploads = 3 };

    private readonly TempDirectory _files = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task BlobSource_RangedReads_MatchTheFile(int readAheadWindows)
    {
        var container = await azurite.NewContainerAsync();
        var path = WriteFiles(_files, Members(1, seed: 20, scale: 50))[0];
        await container.GetBlobClient("m.safetensors").UploadAsync(path, Token);

        await using var blob = await BlobSource.OpenAsync(container.GetBlobClient("m.safetensors"), SmallRanges with { ReadAheadWindows = readAheadWindows }, Token);
        using var file = SafetensorsFile.Open(path);

        Assert.Equal(file.Tensors.Select(t => (t.Name, t.Dtype, t.ShapeText, t.DataBegin, t.DataEnd)), blob.Tensors.Select(t => (t.Name, t.Dtype, t.ShapeText, t.DataBegin, t.DataEnd)));
        Assert.Equal(new FileInfo(path).Length, blob.Length);
        Assert.Equal($"{container.Name}/m.safetensors", blob.Name);
        for (var t = 0; t < file.Tensors.Count; t++)
        {
            var tensor = file.Tensors[t];
            var whole = new byte[tensor.ByteLength];
            await blob.ReadAsync(t, 0, whole, Token); // 80 KB for the largest: 20 ranged requests in parallel
            Assert.Equal(file.ReadTensor(tensor), whole);
            foreach (var (offset, length) in tensor.ByteLength < 16 ? [] : new[] { (5L, tensor.ByteLength / 3), (tensor.ByteLength / 2, tensor.ByteLength / 2), (0L, Math.Min(tensor.ByteLength, 4095)) })
            {
                var part = new byte[length];
                await blob.ReadAsync(t, offset, part, Token); // within one window, across windows, or longer than a window
                Assert.Equal(whole.AsSpan((int)offset, (int)length).ToArray(), part);
            }
        }
    }

    [Theory]
    [InlineData(10)] // the header comes with the first read
    [InlineData(2000)] // a header of ~130 KB: read on in a second request
    public async Task BlobSource_SmallOrLargeHeader_ReadsEveryTensor(int tensors)
    {
        var container = await azurite.NewContainerAsync();
        var written = Enumerable.Range(0, tensors)
            .Select(i => new TensorData($"encoder.layers.{i}.attention.output.dense.weight", SafetensorsDtype.F32, [2], BitConverter.GetBytes((float)i).Concat(BitConverter.GetBytes(-(float)i)).ToArray()))
            .ToList();
        using var stream = new MemoryStream();
        Safetensors.Write(stream, written, new Dictionary<string, string> { ["format"] = "pt" });
        await container.GetBlobClient("h.safetensors").UploadAsync(new BinaryData(stream.ToArray()), Token);

        await using var blob = await BlobSource.OpenAsync(container.GetBlobClient("h.safetensors"), null, Token);

        Assert.Equal(written.Select(t => t.Name), blob.Tensors.Select(t => t.Name));
        Assert.Equal(stream.Length, blob.Length);
        foreach (var t in new[] { 0, tensors / 2, tensors - 1 })
        {
            var data = new byte[8];
            await blob.ReadAsync(t, 0, data, Token);
            Assert.Equal(written[t].Data.ToArray(), data);
        }
    }

    [Fact]
    public async Task BlobSource_TruncatedOrEmptyBlob_FailsNamingIt()
    {
        var container = await azurite.NewContainerAsync();
        var bytes = await File.ReadAllBytesAsync(WriteFiles(_files, Members(1, seed: 21))[0], Token);
        await container.GetBlobClient("cut.safetensors").UploadAsync(new BinaryData(bytes[..^4]), Token);
        await container.GetBlobClient("empty.safetensors").UploadAsync(new BinaryData([]), Token);

        var cut = await Assert.ThrowsAsync<SafetensorsFormatException>(() => BlobSource.OpenAsync(container.GetBlobClient("cut.safetensors"), null, Token));
        var empty = await Assert.ThrowsAsync<SafetensorsFormatException>(() => BlobSource.OpenAsync(container.GetBlobClient("empty.safetensors"), null, Token));

        Assert.Equal($"{container.Name}/cut.safetensors", cut.SourceName);
        Assert.Contains("truncated", cut.Message, StringComparison.Ordinal);
        Assert.Equal($"{container.Name}/empty.safetensors", empty.SourceName);
    }

    [Fact]
    public async Task BlobIn_FileOut_AndMixedInputs_EqualFileIn()
    {
        var container = await azurite.NewContainerAsync();
        var paths = WriteFiles(_files, Members(3, seed: 22, scale: 20));
        for (var i = 0; i < paths.Length; i++)
        {
            await container.GetBlobClient($"m{i}.safetensors").UploadAsync(paths[i], Token);
        }

        var files = await OpenAllAsync(paths);
        var blobs = new List<ICheckpointSource>();
        for (var i = 0; i < paths.Length; i++)
        {
            blobs.Add(await BlobSource.OpenAsync(container.GetBlobClient($"m{i}.safetensors"), SmallRanges, Token));
        }

        var options = new MergeEngineOptions { ChunkElements = 1000 };
        await MergeAsync(files, CheckpointOutput.ToFile(_files.File("from-files.safetensors")), options);
        var summary = await MergeAsync(blobs, CheckpointOutput.ToFile(_files.File("from-blobs.safetensors")), options);
        await MergeAsync([files[0], blobs[1], files[2]], CheckpointOutput.ToFile(_files.File("mixed.safetensors")), options);
        await DisposeAllAsync([.. files, .. blobs]);

        var expected = await File.ReadAllBytesAsync(_files.File("from-files.safetensors"), Token);
        Assert.Equal(expected, await File.ReadAllBytesAsync(_files.File("from-blobs.safetensors"), Token));
        Assert.Equal(expected, await File.ReadAllBytesAsync(_files.File("mixed.safetensors"), Token));
        Assert.Equal(3 * (new FileInfo(paths[0]).Length - DataStart(paths[0])), summary.BytesRead);
    }

    [Fact]
    public async Task FileIn_BlobOut_CommitsStagedBlocksOnce()
    {
        var container = await azurite.NewContainerAsync();
        var sources = await OpenAllAsync(WriteFiles(_files, Members(2, seed: 23, scale: 30)));
        var output = CheckpointOutput.ToBlob(container, "soups/soup.safetensors", SmallBlocks);

        await MergeAsync(sources, CheckpointOutput.ToFile(_files.File("soup.safetensors")));
        var summary = await MergeAsync(sources, output, new MergeEngineOptions { ChunkElements = 500 });
        await DisposeAllAsync(sources);

        var expected = await File.ReadAllBytesAsync(_files.File("soup.safetensors"), Token);
        var blob = container.GetBlockBlobClient("soups/soup.safetensors");
        Assert.Equal(expected, (await blob.DownloadContentAsync(Token)).Value.Content.ToArray());
        var blocks = (await blob.GetBlockListAsync(BlockListTypes.All, cancellationToken: Token)).Value;
        Assert.Equal((expected.Length + 4095) / 4096, blocks.CommittedBlocks.Count());
        Assert.Empty(blocks.UncommittedBlocks);
        Assert.Equal([$"{container.Name}/soups/soup.safetensors"], summary.OutputFiles);
    }

    [Fact]
    public async Task BlockBlobSink_FailureMidMerge_LeavesNoBlobAndKeepsAnExistingOne()
    {
        var container = await azurite.NewContainerAsync();
        // The differing integer tensor comes last: many blocks are staged before the merge fails.
        var random = new Random(24);
        var members = Enumerable.Range(0, 2).Select(i => new[]
        {
            TestTensors.F32("w", [20_000], TestTensors.RandomFloats(random, 20_000)),
            TestTensors.I64("n", [], [i]),
        }).ToArray();
        var sources = await OpenAllAsync(WriteFiles(_files, members));
        await container.GetBlobClient("kept.safetensors").UploadAsync(BinaryData.FromString("previous soup"), Token);

        var fresh = await Assert.ThrowsAsync<InvalidDataException>(() =>
            MergeAsync(sources, CheckpointOutput.ToBlob(container, "fresh.safetensors", SmallBlocks), new MergeEngineOptions { ChunkElements = 1024 }));
        var kept = await Assert.ThrowsAsync<InvalidDataException>(() =>
            MergeAsync(sources, CheckpointOutput.ToBlob(container, "kept.safetensors", SmallBlocks), new MergeEngineOptions { ChunkElements = 1024 }));
        await DisposeAllAsync(sources);

        Assert.Contains("Tensor 'n'", fresh.Message, StringComparison.Ordinal);
        Assert.Contains("Tensor 'n'", kept.Message, StringComparison.Ordinal);
        Assert.False((await container.GetBlobClient("fresh.safetensors").ExistsAsync(Token)).Value);
        Assert.Equal("previous soup", (await container.GetBlobClient("kept.safetensors").DownloadContentAsync(Token)).Value.Content.ToString());
        var staged = (await container.GetBlockBlobClient("kept.safetensors").GetBlockListAsync(BlockListTypes.All, cancellationToken: Token)).Value;
        Assert.True(staged.UncommittedBlocks.Count() >= 10, $"{staged.UncommittedBlocks.Count()} uncommitted blocks: the failure came before data was staged");
    }

    [Fact]
    public async Task BlobToBlob_ShardedPrefixInAndOut_EqualsFileMerge()
    {
        var container = await azurite.NewContainerAsync();
        var members = Members(2, seed: 25, scale: 10);
        for (var m = 0; m < members.Length; m++)
        {
            var folder = Path.GetDirectoryName(WriteSharded(_files.File($"sharded{m}"), members[m], shards: 3))!;
            foreach (var file in Directory.GetFiles(folder))
            {
                await container.GetBlobClient($"members/{m}/{Path.GetFileName(file)}").UploadAsync(file, Token);
            }
        }

        var fileSources = await OpenAllAsync(WriteFiles(_files, members));
        await MergeAsync(fileSources, CheckpointOutput.ToFile(_files.File("expected.safetensors")));
        await DisposeAllAsync(fileSources);
        var blobSources = new List<ICheckpointSource>();
        for (var m = 0; m < members.Length; m++)
        {
            blobSources.Add(await CheckpointSources.OpenBlobAsync(container, $"members/{m}/", SmallRanges, Token));
        }

        var summary = await MergeAsync(blobSources, CheckpointOutput.ToBlobPrefix(container, "soup/", shardBytes: 800, options: SmallBlocks));
        await DisposeAllAsync(blobSources);

        Assert.All(blobSources, s => Assert.IsType<ShardedSource>(s));
        Assert.True(summary.OutputFiles.Count >= 3);
        Assert.Equal($"{container.Name}/soup/model.safetensors.index.json", summary.OutputFiles[^1]);
        await using var merged = await CheckpointSources.OpenBlobAsync(container, "soup/", null, Token);
        Assert.IsType<ShardedSource>(merged);
        var expected = await ReadAllAsync(_files.File("expected.safetensors"));
        var actual = await ReadAllAsync(merged);
        Assert.Equal(expected.Select(t => (t.Name, t.Dtype, t.Shape)), actual.Select(t => (t.Name, t.Dtype, t.Shape)));
        Assert.Equal(expected.Select(t => t.Data), actual.Select(t => t.Data));
    }

    [Fact]
    public async Task BlobToBlob_Cancelled_LeavesNothing()
    {
        var container = await azurite.NewContainerAsync();
        var paths = WriteFiles(_files, Members(2, seed: 26, scale: 40));
        var sources = new List<ICheckpointSource>();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        for (var i = 0; i < paths.Length; i++)
        {
            await container.GetBlobClient($"m{i}.safetensors").UploadAsync(paths[i], Token);
            var blob = await BlobSource.OpenAsync(container.GetBlobClient($"m{i}.safetensors"), SmallRanges, Token);
            sources.Add(new ScriptedSource(blob) { CancelAtRead = cancellation, CancelAfterReads = i == 0 ? 20 : -1 });
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MergeAsync(
            sources, CheckpointOutput.ToBlobPrefix(container, "soup/", 1000, options: SmallBlocks), new MergeEngineOptions { ChunkElements = 256 },
            cancellationToken: cancellation.Token));
        await DisposeAllAsync(sources);

        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, "soup/", Token))
        {
            names.Add(item.Name);
        }

        Assert.Empty(names);
    }

    [Fact]
    public async Task BlobReplacedDuringMerge_Fails()
    {
        // Members larger than the opening read (32 KiB), so their data is read after the replacement.
        var container = await azurite.NewContainerAsync();
        var paths = WriteFiles(_files, Members(2, seed: 27, scale: 50));
        Assert.True(new FileInfo(paths[0]).Length > 64 << 10);
        var blob = container.GetBlobClient("m.safetensors");
        await blob.UploadAsync(paths[0], Token);
        await using var source = await BlobSource.OpenAsync(blob, null, Token);
        await blob.UploadAsync(paths[1], overwrite: true, Token);

        var ex = await Assert.ThrowsAsync<IOException>(() => MergeAsync([source], CheckpointOutput.ToFile(_files.File("soup.safetensors"))));

        Assert.False(source.DataInHand);
        Assert.Contains("changed while it was being read", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_files.File("soup.safetensors")));
    }

    [Fact]
    public async Task ASmallBlob_IsReadWholeByItsOpeningRead_AndMergesThatVersion_WithNoOtherRequest()
    {
        var container = await azurite.NewContainerAsync();
        var paths = WriteFiles(_files, Members(2, seed: 28));
        Assert.True(new FileInfo(paths[0]).Length < 32 << 10);
        var blob = container.GetBlobClient("small.safetensors");
        await blob.UploadAsync(paths[0], Token);
        await using var source = await BlobSource.OpenAsync(blob, null, Token);
        await blob.DeleteAsync(cancellationToken: Token); // any further request would fail now

        await MergeAsync([source], CheckpointOutput.ToFile(_files.File("soup.safetensors")));

        Assert.True(source.DataInHand);
        Assert.Equal(new FileInfo(paths[0]).Length - DataStart(paths[0]), source.BufferBytes);
        using var merged = SafetensorsFile.Open(_files.File("soup.safetensors"));
        using var original = SafetensorsFile.Open(paths[0]);
        foreach (var tensor in original.Tensors)
            Assert.Equal(original.ReadTensor(tensor.Name), merged.ReadTensor(tensor.Name));
    }

    private static long DataStart(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.DataStart;
    }
}
