using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Soup.Jobs;
using Soup.Training;
using Soup.Core.Jobs;
using Soup.Training.Data;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The worker's dataset resolver on Azurite: a <c>blob:</c> dataset is downloaded once into the cache, also when
/// resolved concurrently, and later resolutions reuse it; plain names stay under the data root.
/// </summary>
public sealed class DatasetResolverTests : IAsyncLifetime
{
    private readonly BlobServiceClient _blobs = new("UseDevelopmentStorage=true");

    private readonly BlobContainerClient _container;

    private readonly string _local = Directory.CreateTempSubdirectory("soup-resolver-tests-").FullName;

    public DatasetResolverTests() => _container = _blobs.GetBlobContainerClient("data-" + RandomNumberGenerator.GetHexString(8, lowercase: true));

    private string Cache => Path.Combine(_local, "cache");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: Token);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException("These tests need Azurite on 127.0.0.1:10000: run scripts/setup.sh azurite.", ex);
        }
        var source = Path.Combine(_local, "source");
        TinyIdxDataset.Write(source, trainCount: 60, testCount: 20, seed: 1);
        foreach (var file in Directory.GetFiles(source))
        {
            await _container.GetBlobClient($"tiny/{Path.GetFileName(file)}").UploadAsync(file, Token);
            await _container.GetBlobClient($"other/nested/{Path.GetFileName(file)}").UploadAsync(file, Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _container.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        Directory.Delete(_local, recursive: true);
    }

    [Fact]
    public async Task ResolveAsync_BlobDatasetTwice_DownloadsOnceAndKeepsTheFiles()
    {
        var logger = new CountingLogger();
        var resolver = Resolver(logger);

        var folder = await resolver.ResolveAsync($"blob:{_container.Name}/tiny", Token);
        var marker = new FileInfo(Path.Combine(folder, DatasetResolver.MarkerFile));
        var written = marker.LastWriteTimeUtc;
        var again = await resolver.ResolveAsync($"blob:{_container.Name}/tiny/", Token);

        Assert.Equal(folder, again);
        Assert.Equal(1, logger.Downloads);
        Assert.Equal(written, new FileInfo(marker.FullName).LastWriteTimeUtc);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(_local, "source", "train-images-idx3-ubyte"), Token),
            await File.ReadAllBytesAsync(Path.Combine(folder, "train-images-idx3-ubyte"), Token));
        Assert.Contains("train-labels-idx1-ubyte", await File.ReadAllTextAsync(marker.FullName, Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_CachedByAnotherResolver_IsRevalidated_AndARewrittenBlobIsDownloadedAgain()
    {
        var first = await Resolver(new CountingLogger()).ResolveVersionAsync($"blob:{_container.Name}/tiny", Token);
        var unchanged = new CountingLogger();
        var same = await Resolver(unchanged).ResolveVersionAsync($"blob:{_container.Name}/tiny", Token);
        await _container.GetBlobClient("tiny/train-labels-idx1-ubyte").UploadAsync(BinaryData.FromString("changed"), overwrite: true, Token);
        var changed = new CountingLogger();

        var again = await Resolver(changed).ResolveVersionAsync($"blob:{_container.Name}/tiny", Token);

        Assert.Equal((first, 0), (same, unchanged.Downloads)); // same listing: the cached copy, no download
        Assert.StartsWith("sha256:", first.Version, StringComparison.Ordinal);
        Assert.NotEqual(first.Version, again.Version);
        Assert.NotEqual(first.Folder, again.Folder);
        Assert.Equal(1, changed.Downloads);
        Assert.Equal("changed", await File.ReadAllTextAsync(Path.Combine(again.Folder, "train-labels-idx1-ubyte"), Token));
        Assert.False(Directory.Exists(first.Folder)); // the older version's folder is removed
        Assert.Contains(again.Version!, await File.ReadAllTextAsync(Path.Combine(again.Folder, DatasetResolver.MarkerFile), Token), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, long.MaxValue, "MaxDatasetFiles")]
    [InlineData(int.MaxValue, 1000, "MaxDatasetBytes")]
    public async Task ResolveAsync_ADatasetOverTheDownloadLimits_IsRefusedBeforeAnyDownload(int files, long bytes, string setting)
    {
        var resolver = new DatasetResolver(
            _blobs,
            new WorkerOptions { DataRoot = Path.Combine(_local, "root"), DataCache = Cache, MaxDatasetFiles = files, MaxDatasetBytes = bytes },
            [_container.Name],
            new CountingLogger());

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => resolver.ResolveAsync($"blob:{_container.Name}/tiny", Token));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Cache) && Directory.EnumerateFileSystemEntries(Cache).Any());
    }

    [Fact]
    public async Task ResolveVersionAsync_GeneratedPairs_AreReadFromTheJobsOwnPipelineFolderOnly()
    {
        // The pairs a pipeline made lie in its folder of the pipeline container; the container is not a dataset container.
        await _container.GetBlobClient("pipe-1/init/pairs/train/pairs.jsonl").UploadAsync(BinaryData.FromString("{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n"), Token);
        var resolver = new DatasetResolver(
            _blobs, new WorkerOptions { DataRoot = Path.Combine(_local, "root"), DataCache = Cache }, ["datasets"], new CountingLogger(), pipelineContainer: _container.Name);

        var own = await resolver.ResolveVersionAsync(PairDatasets.Train, "pipe-1", Token);
        var other = await Assert.ThrowsAsync<FileNotFoundException>(() => resolver.ResolveVersionAsync(PairDatasets.Train, "pipe-2", Token));
        var none = await Assert.ThrowsAsync<ArgumentException>(() => resolver.ResolveVersionAsync(PairDatasets.Train, Token));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => resolver.ResolveVersionAsync("pairs:../x", "pipe-1", Token));
        var direct = await Assert.ThrowsAsync<ArgumentException>(() => resolver.ResolveVersionAsync($"blob:{_container.Name}/pipe-1/init/pairs/train", Token));

        Assert.True(File.Exists(Path.Combine(own.Folder, "pairs.jsonl")));
        Assert.StartsWith("sha256:", own.Version, StringComparison.Ordinal);
        Assert.Contains("prefix 'pipe-2/init/pairs/train/'", other.Message, StringComparison.Ordinal);
        Assert.Contains("read only for a job of that pipeline", none.Message, StringComparison.Ordinal);
        Assert.Contains("is not a generated pairs dataset", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("is not a dataset container", direct.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_Concurrently_DownloadsOnceAndLeavesNoTemporaryFolders()
    {
        var logger = new CountingLogger();
        var resolver = Resolver(logger);
        var other = Resolver(new CountingLogger());

        var folders = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(i => Task.Run(() => (i == 7 ? other : resolver).ResolveAsync($"blob:{_container.Name}/other", Token)))
            .ToArray());

        Assert.Single(folders.Distinct());
        Assert.Equal(1, logger.Downloads);
        Assert.True(File.Exists(Path.Combine(folders[0], "nested", "t10k-images-idx3-ubyte")));
        Assert.Equal([Path.GetFileName(folders[0])], Directory.GetDirectories(Cache).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ResolveAsync_MissingPrefix_ThrowsNamingContainerAndPrefix()
    {
        var error = await Assert.ThrowsAsync<FileNotFoundException>(
            () => Resolver(new CountingLogger()).ResolveAsync($"blob:{_container.Name}/nothing-here", Token));

        Assert.Contains(_container.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing-here/", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Cache) && Directory.EnumerateFileSystemEntries(Cache).Any());
    }

    [Fact]
    public async Task ResolveAsync_MissingContainer_ThrowsNamingIt()
    {
        var error = await Assert.ThrowsAsync<FileNotFoundException>(
            () => Resolver(new CountingLogger()).ResolveAsync("blob:no-such-container-x1/tiny", Token));

        Assert.Contains("no-such-container-x1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("reports")]
    [InlineData("checkpoints")]
    public async Task ResolveAsync_AContainerThatIsNotADatasetContainer_IsRefusedBeforeAnyDownload(string other)
    {
        var foreign = _blobs.GetBlobContainerClient(other);
        await foreign.CreateIfNotExistsAsync(cancellationToken: Token);
        await foreign.GetBlobClient($"{_container.Name}/report.html").UploadAsync(BinaryData.FromString("<html>private</html>"), overwrite: true, Token);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Resolver(new CountingLogger()).ResolveAsync($"blob:{other}/{_container.Name}", Token));

        Assert.Contains($"container '{other}' is not a dataset container", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Cache) && Directory.EnumerateFileSystemEntries(Cache).Any());
        await foreign.GetBlobClient($"{_container.Name}/report.html").DeleteIfExistsAsync(cancellationToken: Token);
    }

    [Fact]
    public async Task ResolveAsync_PlainName_IsUnderTheDataRoot()
    {
        var folder = await Resolver(new CountingLogger()).ResolveAsync("fashion-mnist", Token);

        Assert.Equal(Path.Combine(_local, "root", "fashion-mnist"), folder);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../etc")]
    [InlineData("/etc")]
    [InlineData("blob:")]
    [InlineData("blob:c/../x")]
    public async Task ResolveAsync_BadName_Throws(string dataset)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Resolver(new CountingLogger()).ResolveAsync(dataset, Token));
    }

    private DatasetResolver Resolver(CountingLogger logger) => new(
        _blobs,
        new WorkerOptions { DataRoot = Path.Combine(_local, "root"), DataCache = Cache },
        [_container.Name, "no-such-container-x1"],
        logger);

    /// <summary>Counts the resolver's "downloading" events.</summary>
    private sealed class CountingLogger : ILogger<DatasetResolver>
    {
        private int _downloads;

        public int Downloads => _downloads;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 430)
                Interlocked.Increment(ref _downloads);
        }
    }
}
