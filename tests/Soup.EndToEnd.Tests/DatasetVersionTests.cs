using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Soup.Core.Specs;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>The dataset version a scheduled run records, read from Blob Storage on Azurite.</summary>
public sealed class DatasetVersionTests : IAsyncLifetime
{
    private readonly BlobServiceClient _blobs = new("UseDevelopmentStorage=true");
    private readonly BlobContainerClient _container;

    public DatasetVersionTests() => _container = _blobs.GetBlobContainerClient("ver-" + RandomNumberGenerator.GetHexString(8, lowercase: true));

    public async ValueTask InitializeAsync() => await _container.CreateAsync();

    public async ValueTask DisposeAsync() => await _container.DeleteIfExistsAsync();

    private PipelineSpec Spec(string prefix) => new() { Name = "v", Data = new DataSpec { Dataset = $"blob:{_container.Name}/{prefix}" } };

    private async Task<string> VersionAsync(PipelineSpec spec) => await DatasetVersion.DescribeAsync(_blobs, spec, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Describe_BlobDataset_SameFilesSameVersionAnyChangeAnother()
    {
        var ct = TestContext.Current.CancellationToken;
        await _container.UploadBlobAsync("fm/train-images-idx3-ubyte", new BinaryData("a"u8.ToArray()), ct);
        await _container.UploadBlobAsync("fm/train-labels-idx1-ubyte", new BinaryData("b"u8.ToArray()), ct);
        await _container.UploadBlobAsync("other/unrelated", new BinaryData("c"u8.ToArray()), ct);

        var first = await VersionAsync(Spec("fm"));
        Assert.Equal(first, await VersionAsync(Spec("fm/")));
        Assert.Contains("2 blobs", first, StringComparison.Ordinal);
        Assert.Matches("sha256:[0-9a-f]{16}", first);

        await _container.GetBlobClient("fm/train-labels-idx1-ubyte").UploadAsync(new BinaryData("b"u8.ToArray()), overwrite: true, ct);
        var rewritten = await VersionAsync(Spec("fm"));
        Assert.NotEqual(first, rewritten); // same bytes, new ETag: the data may have changed

        await _container.UploadBlobAsync("fm/t10k-images-idx3-ubyte", new BinaryData("d"u8.ToArray()), ct);
        var added = await VersionAsync(Spec("fm"));
        Assert.NotEqual(rewritten, added);
        Assert.Contains("3 blobs", added, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_FolderAndEmptyPrefixAndSeveralDatasets_OneLineEach()
    {
        var spec = Spec("missing") with
        {
            Auxiliary = [new AuxiliarySpec { Name = "a", Dataset = "fashion-mnist" }],
        };

        var lines = (await VersionAsync(spec)).Split('\n');

        Assert.Equal(2, lines.Length);
        Assert.Contains("no blobs", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("fashion-mnist: a folder on the workers", lines[1], StringComparison.Ordinal);
    }
}
