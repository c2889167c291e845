using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;
using Soup.Core.Tests.Checkpoints;
using static Soup.Core.Tests.Merging.Engine.EngineTestData;

namespace Soup.Core.Tests.Merging.Engine;

/// <summary>
/// <see cref="MergeEngineOptions.MemoryBudgetBytes"/>: many members under a small budget give the same bytes as without
/// one, and the buffers the engine, the blob sources and the block-blob sink hold (their own accounting, and what the
/// sources actually allocated) stay within it.
/// </summary>
public sealed class MemoryBudgetTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly TempDirectory _files = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task SixtyFourMembers_SmallBudget_SameBytesAsUnbounded_BuffersWithinBudget()
    {
        const long budget = 8L << 20;
        var members = Members(64, seed: 40, scale: 100); // embed.weight: 40,000 elements per member
        ICheckpointSource[] sources = [.. members.Select((m, i) => new InMemorySource($"m{i}", m))];
        var unbounded = new MemorySinkFactory();
        var bounded = new MemorySinkFactory();

        var free = await MergeAsync(sources, new CheckpointOutput(unbounded), new MergeEngineOptions { MemoryBudgetBytes = null });
        var tight = await MergeAsync(sources, new CheckpointOutput(bounded), new MergeEngineOptions { MemoryBudgetBytes = budget });

        Assert.Equal(unbounded.Files["model.safetensors"], bounded.Files["model.safetensors"]);
        Assert.True(tight.TotalBufferBytes <= budget, $"{tight.TotalBufferBytes} bytes of buffers under a budget of {budget}");
        Assert.True(free.TotalBufferBytes > 4 * budget, $"without a budget the same merge takes {free.TotalBufferBytes} bytes");
        Assert.True(tight.ChunkElements < 40_000, $"chunks of {tight.ChunkElements} elements: the largest tensor was not split");
        Assert.Equal(budget, tight.MemoryBudgetBytes);

        // And the bytes are the uniform average (checked on the chunked tensor).
        var merged = await ReadAllAsync(new InMemorySource("out", Safetensors.Read(bounded.Files["model.safetensors"], "out").Tensors));
        var embed = Floats(merged.Single(t => t.Name == "embed.weight").Data);
        for (var i = 0; i < embed.Length; i += 997)
        {
            Assert.Equal(members.Sum(m => (double)Floats(m[0].Data.ToArray())[i]) / 64, embed[i], 1e-6);
        }
    }

    [Fact]
    public async Task BudgetTooSmall_FailsBeforeWriting_SayingWhatIsNeeded()
    {
        var members = Members(64, seed: 41, scale: 100);
        ICheckpointSource[] sources = [.. members.Select((m, i) => new InMemorySource($"m{i}", m))];
        var target = new MemorySinkFactory();

        var small = await Assert.ThrowsAsync<MergeBudgetException>(() => MergeAsync(sources, new CheckpointOutput(target), new MergeEngineOptions { MemoryBudgetBytes = 1L << 20 }));
        var zero = await Assert.ThrowsAsync<MergeBudgetException>(() => MergeAsync(sources, new CheckpointOutput(target), new MergeEngineOptions { MemoryBudgetBytes = 0 }));

        Assert.Contains("too small to merge 64 inputs", small.Message, StringComparison.Ordinal);
        Assert.Contains("need at least", small.Message, StringComparison.Ordinal);
        Assert.Contains("must be positive", zero.Message, StringComparison.Ordinal);
        Assert.Empty(target.Files);
    }

    [Fact]
    public async Task BlobMembers_SixtyFour_UnderBudget_SameBytes_SourcesAndSinkWithinTheirShares()
    {
        const long budget = 24L << 20;
        var container = await azurite.NewContainerAsync();
        var paths = WriteFiles(_files, Members(64, seed: 42, scale: 100)); // ~160 KB per member
        await Task.WhenAll(paths.Select((p, i) => container.GetBlobClient($"m{i}.safetensors").UploadAsync(p, Token)));
        var sink = new BlockBlobSinkOptions { BlockBytes = 1 << 20, MaxConcurrentUploads = 3 };

        var files = await OpenAllAsync(paths);
        await MergeAsync(files, CheckpointOutput.ToFile(_files.File("reference.safetensors")), new MergeEngineOptions { MemoryBudgetBytes = null });
        await DisposeAllAsync(files);
        var blobs = new List<BlobSource>();
        for (var i = 0; i < paths.Length; i++)
        {
            blobs.Add(await BlobSource.OpenAsync(container.GetBlobClient($"m{i}.safetensors"), null, Token));
        }

        var unlimited = blobs.Sum(b => b.BufferBytes);
        var summary = await MergeAsync(blobs, CheckpointOutput.ToBlob(container, "soup/model.safetensors", sink), new MergeEngineOptions { MemoryBudgetBytes = budget });
        var peaks = blobs.Sum(b => b.PeakBufferBytes);
        var granted = blobs.Sum(b => b.BufferBytes);
        await DisposeAllAsync(blobs);

        var expected = await File.ReadAllBytesAsync(_files.File("reference.safetensors"), Token);
        Assert.Equal(expected, (await container.GetBlobClient("soup/model.safetensors").DownloadContentAsync(Token)).Value.Content.ToArray());
        Assert.True(unlimited > budget, $"64 blob sources would hold {unlimited} bytes by default");
        Assert.Equal(granted, summary.SourceBufferBytes);
        Assert.Equal(4L << 20, summary.SinkBufferBytes);
        Assert.True(summary.TotalBufferBytes <= budget, $"{summary.TotalBufferBytes} bytes granted under a budget of {budget}");
        Assert.True(peaks <= granted, $"the sources allocated {peaks} bytes at once, more than the {granted} granted");
        Assert.True(peaks > 0, "the sources' own accounting saw no buffer in use");
    }

    [Fact]
    public async Task BlobSource_Limited_ShrinksWindowsAndStillReadsTheSameBytes()
    {
        var container = await azurite.NewContainerAsync();
        var path = WriteFiles(_files, Members(1, seed: 43, scale: 1000))[0]; // ~1.6 MB
        await container.GetBlobClient("m.safetensors").UploadAsync(path, Token);
        await using var blob = await BlobSource.OpenAsync(container.GetBlobClient("m.safetensors"), null, Token);
        using var file = SafetensorsFile.Open(path);
        var length = new FileInfo(path).Length;

        var before = blob.BufferBytes;
        var granted = blob.LimitBuffers(2L << 20);
        var index = file.Tensors.Select(t => t.Name).ToList().IndexOf("embed.weight");
        var embed = file.Tensors[index];
        var read = new byte[embed.ByteLength];
        for (var offset = 0; offset < read.Length; offset += 40_000)
        {
            await blob.ReadAsync(index, offset, read.AsMemory(offset, (int)Math.Min(40_000, read.Length - offset)), Token);
        }

        Assert.Equal((3 * length) + (8L * 256 << 10), before); // a window is never longer than the blob
        Assert.Equal(2L << 20, granted); // 8 copy buffers of 64 KiB, 3 windows of 512 KiB
        Assert.Equal(2, blob.ReadAheadWindows);
        Assert.Equal(512 << 10, blob.WindowBytes);
        Assert.Equal(file.ReadTensor(embed), read);
        Assert.InRange(blob.PeakBufferBytes, 1, granted);
    }
}
