using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;

namespace Soup.Core.Tests.Storage;

/// <summary>The SoupStorage connection in its two forms: a connection string (Azurite), or identity settings as the
/// Functions host reads them (Azure, infra/).</summary>
public sealed class SoupStorageConnectionTests
{
    [Fact]
    public void Credential_ManagedIdentity_IsAManagedIdentityCredential()
    {
        Assert.IsType<ManagedIdentityCredential>(SoupStorage.Credential("managedidentity", "00000000-0000-0000-0000-000000000001"));
        Assert.IsType<ManagedIdentityCredential>(SoupStorage.Credential("ManagedIdentity", null));
    }

    [Fact]
    public void Credential_NoneGiven_IsTheDefaultChain()
    {
        Assert.IsType<DefaultAzureCredential>(SoupStorage.Credential(null, null));
    }

    [Fact]
    public void Constructor_IdentitySettings_PointClientsAtTheServiceUris()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SoupStorage:blobServiceUri"] = "https://account.blob.core.windows.net/",
            ["SoupStorage:queueServiceUri"] = "https://account.queue.core.windows.net/",
            ["SoupStorage:credential"] = "managedidentity",
            ["SoupStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        }).Build();

        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions()));

        Assert.Equal("https://account.blob.core.windows.net/checkpoints", storage.Checkpoints.Uri.ToString());
        Assert.Equal("https://account.queue.core.windows.net/soup-jobs", storage.Jobs.Uri.ToString());
    }

    [Fact]
    public void Constructor_NoConnection_NamesTheSettings()
    {
        var configuration = new ConfigurationBuilder().Build();

        var error = Assert.Throws<InvalidOperationException>(() => new SoupStorage(configuration, Options.Create(new PipelineOptions())));

        Assert.Contains("SoupStorage__blobServiceUri", error.Message, StringComparison.Ordinal);
    }
}
