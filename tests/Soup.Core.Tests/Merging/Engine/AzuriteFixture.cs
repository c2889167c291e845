using System.Security.Cryptography;
using Azure.Core;
using Azure.Storage.Blobs;

namespace Soup.Core.Tests.Merging.Engine;

/// <summary>
/// The local Azurite blob service (UseDevelopmentStorage=true, 127.0.0.1:10000; SOUP_TEST_BLOB_CONNECTION overrides it).
/// When it is not reachable every test using it fails with a message saying how to start it: CI starts it, so a silent
/// skip would hide a broken set-up.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public static readonly string ConnectionString =
        Environment.GetEnvironmentVariable("SOUP_TEST_BLOB_CONNECTION") is { Length: > 0 } custom ? custom : "UseDevelopmentStorage=true";

    private readonly List<BlobContainerClient> _containers = [];
    private Exception? _unreachable;

    public BlobServiceClient Service { get; } = new(ConnectionString, new BlobClientOptions
    {
        Retry = { MaxRetries = 2, Delay = TimeSpan.FromMilliseconds(200), NetworkTimeout = TimeSpan.FromSeconds(60) },
    });

    public async ValueTask InitializeAsync()
    {
        var probe = new BlobServiceClient(ConnectionString, new BlobClientOptions
        {
            Retry = { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(5), Mode = RetryMode.Fixed },
        });
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await probe.GetPropertiesAsync(timeout.Token);
        }
        catch (Exception ex)
        {
            _unreachable = ex;
        }
    }

    /// <summary>A new empty container, deleted when the fixture is disposed.</summary>
    public async Task<BlobContainerClient> NewContainerAsync()
    {
        if (_unreachable is not null)
        {
            throw new InvalidOperationException(
                "These blob tests need Azurite on 127.0.0.1:10000 (connection string UseDevelopmentStorage=true): start it with "
                + "`bash scripts/setup.sh azurite` (scripts/test.sh and CI do). It did not answer: " + _unreachable.Message,
                _unreachable);
        }

        var container = Service.GetBlobContainerClient("engine-" + RandomNumberGenerator.GetHexString(12, lowercase: true));
        await container.CreateAsync();
        lock (_containers)
        {
            _containers.Add(container);
        }

        return container;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var container in _containers)
        {
            try
            {
                await container.DeleteIfExistsAsync();
            }
            catch (Azure.RequestFailedException)
            {
                // Best effort clean-up of a test container.
            }
        }
    }
}
