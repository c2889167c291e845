using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;

namespace Soup.Local;

/// <summary>Checks, before anything starts, that the storage the engine needs answers.</summary>
public static class StorageProbe
{
    public static async Task<string?> ProblemAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var connection = LocalConfiguration.Engine(configuration).AzureWebJobsStorage;
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        try
        {
            await new BlobServiceClient(connection, options).GetPropertiesAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or HttpRequestException or FormatException or ArgumentException)
        {
            return $"Storage is unreachable ({ex.GetType().Name}: {ex.Message.Split('\n')[0]}). " +
                   "Locally the engine needs Azurite on 127.0.0.1:10000-10002: start it with `npm ci && npm run azurite` (or run scripts/demo.sh, which does).";
        }
    }
}
