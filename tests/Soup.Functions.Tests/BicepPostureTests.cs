using System.Text.Json;

namespace Soup.Functions.Tests;

/// <summary>
/// The Azure posture that README.md's "Security" promises, read from infra/main.bicep compiled by the Bicep CLI: every
/// storage role is scoped to one container or queue except the Functions host's on its own account, both storage
/// accounts deny by default and take no shared keys, the data account keeps blob versions, the worker image must be
/// pinned by digest, the landing subscription dead-letters. (What Azure does with it was not deployed from here.)
/// </summary>
public sealed class BicepPostureTests
{
    private static Lazy<BicepTemplate> Template => BicepTemplate.Main;

    [Fact]
    public void StorageRoles_AreScopedToOneContainerOrQueue_ExceptTheHostsOwnAccount()
    {
        using var document = JsonDocument.Parse(Template.Value.Json);
        var scopes = BicepTemplate.Resources(document.RootElement)
            .Where(r => r.GetProperty("type").GetString() == "Microsoft.Authorization/roleAssignments")
            .Select(r => r.TryGetProperty("scope", out var scope) ? scope.GetString()! : "(resource group)")
            .ToList();
        var storage = scopes.Where(s => s.Contains("Microsoft.Storage/storageAccounts", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(storage);
        var wide = storage.Where(s =>
            !s.Contains("Microsoft.Storage/storageAccounts/blobServices/containers'", StringComparison.Ordinal)
            && !s.Contains("Microsoft.Storage/storageAccounts/queueServices/queues'", StringComparison.Ordinal)
            && s != "[resourceId('Microsoft.Storage/storageAccounts', parameters('hostStorageAccountName'))]").ToList();
        Assert.True(wide.Count == 0, $"storage role assignments wider than one container or queue: {string.Join(", ", wide)}");
        Assert.DoesNotContain("(resource group)", scopes);
    }

    [Fact]
    public void StorageAccounts_DenyByDefault_AndTakeNoSharedKeys()
    {
        using var document = JsonDocument.Parse(Template.Value.Json);
        var accounts = BicepTemplate.Resources(document.RootElement)
            .Where(r => r.GetProperty("type").GetString() == "Microsoft.Storage/storageAccounts")
            .Where(r => !(r.TryGetProperty("existing", out var existing) && existing.GetBoolean()))
            .ToList();

        Assert.Equal(2, accounts.Count); // storage.bicep, inlined once per account (data, host)
        foreach (var account in accounts)
        {
            var properties = account.GetProperty("properties");
            Assert.Equal("Deny", properties.GetProperty("networkAcls").GetProperty("defaultAction").GetString());
            Assert.False(properties.GetProperty("allowSharedKeyAccess").GetBoolean());
            Assert.False(properties.GetProperty("allowBlobPublicAccess").GetBoolean());
        }
    }

    [Fact]
    public void DataAccount_KeepsBlobVersions_AndLogs_HostAccountIsSeparate()
    {
        using var document = JsonDocument.Parse(Template.Value.Json);
        var modules = document.RootElement.GetProperty("resources");
        var data = modules.GetProperty("storage").GetProperty("properties").GetProperty("parameters");
        var host = modules.GetProperty("hostStorage").GetProperty("properties").GetProperty("parameters");

        Assert.True(data.GetProperty("versioning").GetProperty("value").GetBoolean());
        Assert.True(data.GetProperty("logs").GetProperty("value").GetBoolean());
        Assert.NotEqual(data.GetProperty("name").GetProperty("value").GetString(), host.GetProperty("name").GetProperty("value").GetString());
        const string checkpoints = "[variables('checkpointsContainer')]";
        Assert.Contains(checkpoints, data.GetProperty("containers").GetProperty("value").EnumerateArray().Select(c => c.GetString()));
        Assert.DoesNotContain(checkpoints, host.GetProperty("containers").GetProperty("value").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public void WorkerImage_MustBePinnedByDigest()
    {
        var json = Template.Value.Json;

        Assert.Contains("'@sha256:'", json, StringComparison.Ordinal);
        Assert.Contains("fail('workerImage must be pinned by digest", json, StringComparison.Ordinal);
    }

    [Fact]
    public void LandingSubscription_RetriesExplicitly_AndDeadLetters()
    {
        var text = RepositoryFiles.Read("infra/eventgrid.bicep");

        Assert.Contains("deadLetterWithResourceIdentity", text, StringComparison.Ordinal);
        Assert.Contains("maxDeliveryAttempts: maxDeliveryAttempts", text, StringComparison.Ordinal);
        Assert.Contains("eventTimeToLiveInMinutes: eventTimeToLiveMinutes", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_SendsFunctionKeysInTheHeader_NotTheUrl()
    {
        var readme = RepositoryFiles.Read("README.md");

        Assert.DoesNotContain("?code=$", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("add ?code=", readme, StringComparison.Ordinal);
        Assert.Contains("x-functions-key", readme, StringComparison.Ordinal);
    }
}
