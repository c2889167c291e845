using System.Text.Json;
using System.Text.RegularExpressions;
using Soup.Core.Storage;

namespace Soup.Functions.Tests;

/// <summary>
/// Every setting the code reads (<see cref="CodeSettings"/>) exists with the same name in local.settings.sample.json
/// (Functions), in the Bicep app settings (Functions) and job environment (workers), and in the README's settings
/// table, and none of these lists names a setting the code does not read. A failure names the setting and the place.
/// </summary>
public sealed partial class SettingsDriftTests
{
    private static Lazy<BicepTemplate> Template => BicepTemplate.Main;

    /// <summary>Settings the Functions host itself needs locally (Flex Consumption sets it from the site's runtime).</summary>
    private static readonly string[] LocalPlatformSettings = ["FUNCTIONS_WORKER_RUNTIME"];

    /// <summary>Telemetry settings of the Functions host in Azure (identity-based Application Insights).</summary>
    private static readonly string[] AzurePlatformSettings = ["APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"];

    /// <summary>Worker settings deliberately left to their defaults in Azure, with the reason.</summary>
    private static readonly Dictionary<string, string> WorkerDefaultsInAzure = new(StringComparer.Ordinal)
    {
        ["WorkerName"] = "defaults to the host name, which is the replica's name: unique per execution",
    };

    [Fact]
    public void LocalSettingsSample_HasEveryFunctionsSetting_AndNothingElse()
    {
        var values = LocalSettingsValues();
        var expected = CodeSettings.Functions.Concat(LocalPlatformSettings).Append(CodeSettings.DisabledSwitch(CodeSettings.EventGridLandingFunction));

        AssertSameNames(expected, values.Keys, "local.settings.sample.json (Values)");
    }

    [Fact]
    public void LocalSettingsSample_RetentionDays_AreTheCodeDefaults()
    {
        var values = LocalSettingsValues();
        var defaults = new Soup.Orchestration.Retention.RetentionOptions();

        Assert.Equal(defaults.RetentionInstanceDays.ToString(System.Globalization.CultureInfo.InvariantCulture), values.GetValueOrDefault(nameof(defaults.RetentionInstanceDays)));
        Assert.Equal(defaults.RetentionMemberDays.ToString(System.Globalization.CultureInfo.InvariantCulture), values.GetValueOrDefault(nameof(defaults.RetentionMemberDays)));
    }

    [Fact]
    public void LocalSettingsSample_DisablesTheEventGridTrigger_AndKeepsTheScan()
    {
        var values = LocalSettingsValues();

        Assert.Equal("true", values.GetValueOrDefault(CodeSettings.DisabledSwitch(CodeSettings.EventGridLandingFunction)));
        Assert.DoesNotContain(CodeSettings.DisabledSwitch(CodeSettings.ScanLandingFunction), values.Keys);
    }

    [Fact]
    public void BicepAppSettings_HaveEveryFunctionsSetting_AndNothingElse()
    {
        var expected = CodeSettings.Functions.Concat(AzurePlatformSettings);

        AssertSameNames(expected, Template.Value.AppSettings.Keys.Select(BaseName).Distinct(), "infra/main.bicep (function app settings)");
    }

    [Fact]
    public void BicepAppSettings_SwitchOffNeitherLandingTrigger()
    {
        // The scan is not in the Release package at all (switching it off would not stop Flex refusing it).
        var settings = Template.Value.AppSettings;

        Assert.DoesNotContain(CodeSettings.DisabledSwitch(CodeSettings.ScanLandingFunction), settings.Keys);
        Assert.DoesNotContain(CodeSettings.DisabledSwitch(CodeSettings.EventGridLandingFunction), settings.Keys);
    }

    [Fact]
    public void BicepWorkerEnvironment_HasEveryWorkerSetting_AndNothingElse()
    {
        var expected = CodeSettings.Worker.Except(WorkerDefaultsInAzure.Keys);

        AssertSameNames(expected, Template.Value.WorkerEnvironment.Keys.Select(BaseName).Distinct(), "infra/main.bicep (worker job environment)");
    }

    [Theory]
    [InlineData("AzureWebJobsStorage", "function app")]
    [InlineData("SoupStorage", "function app")]
    [InlineData("SoupStorage", "worker job")]
    public void BicepConnections_AreIdentityBased(string connection, string component)
    {
        var settings = component == "worker job" ? Template.Value.WorkerEnvironment : Template.Value.AppSettings;

        Assert.False(settings.ContainsKey(connection), $"{component}: '{connection}' is set as a connection string; use {connection}__blobServiceUri etc.");
        Assert.Equal("managedidentity", settings.GetValueOrDefault($"{connection}__credential"));
        Assert.True(settings.ContainsKey($"{connection}__clientId"), $"{component}: {connection}__clientId (the user-assigned identity) is missing");
        Assert.True(settings.ContainsKey($"{connection}__blobServiceUri"), $"{component}: {connection}__blobServiceUri is missing");
        Assert.True(settings.ContainsKey($"{connection}__queueServiceUri"), $"{component}: {connection}__queueServiceUri is missing");
    }

    [Fact]
    public void BicepAppSettings_HostStorage_IsNotTheDataAccount()
    {
        // The Functions host (task hub, leases, keys) has an account of its own; the pipeline's data is another, on
        // which the app's identity holds container-scoped roles only.
        var settings = Template.Value.AppSettings;

        foreach (var service in new[] { "blobServiceUri", "queueServiceUri" })
        {
            var host = settings.GetValueOrDefault($"AzureWebJobsStorage__{service}");
            var data = settings.GetValueOrDefault($"{PipelineOptions.ConnectionName}__{service}");
            Assert.NotNull(host);
            Assert.NotNull(data);
            Assert.NotEqual(host, data);
        }
    }

    [Fact]
    public void WorkerAppSettings_NameOnlyWorkerSettings_AndNoConnection()
    {
        // appsettings.json is loaded in every environment: a connection there (e.g. Azurite's) would shadow the
        // identity-based SoupStorage__* settings of the container. Azurite's belongs in appsettings.Development.json.
        var names = JsonNames("workers/Soup.Worker/appsettings.json").Where(n => n != "Logging").ToList();
        var development = JsonNames("workers/Soup.Worker/appsettings.Development.json");

        Assert.DoesNotContain(PipelineOptions.ConnectionName, names);
        Assert.Contains(PipelineOptions.ConnectionName, development);
        AssertSameNames(CodeSettings.Worker.Intersect(names.Concat(development)), names.Concat(development), "workers/Soup.Worker/appsettings*.json");
    }

    private static List<string> JsonNames(string file)
    {
        using var document = JsonDocument.Parse(RepositoryFiles.Read(file));
        return document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
    }

    [Fact]
    public void BicepTemplate_HoldsNoKeysOrConnectionStrings()
    {
        foreach (var forbidden in new[] { "AccountKey=", "SharedAccessSignature", "listKeys(", "listConnectionStrings(", "UseDevelopmentStorage" })
            Assert.False(Template.Value.Json.Contains(forbidden, StringComparison.OrdinalIgnoreCase), $"the compiled template contains '{forbidden}'");
    }

    [Fact]
    public void ReadmeSettingsTable_ListsEverySettingTheCodeReads_AndNothingElse()
    {
        var expected = CodeSettings.Functions.Concat(CodeSettings.Worker).Concat(CodeSettings.LocalEngine)
            .Append(CodeSettings.DisabledSwitch(CodeSettings.EventGridLandingFunction));

        AssertSameNames(expected, ReadmeSettingNames(), "README.md (the table under '## Settings')");
    }

    [Fact]
    public void HostJson_IsPlainJson()
    {
        // The Functions host ignores a host.json with comments silently (azure-functions-host#9583): its non-default
        // values are explained in README.md instead.
        var exception = Record.Exception(() => JsonDocument.Parse(RepositoryFiles.Read("host.json")));
        Assert.Null(exception);
    }

    [Fact]
    public void HostJson_EveryTunedValue_IsExplainedInTheReadme()
    {
        // Values that restate a default or are required by the schema need no explanation.
        string[] restated = ["version", "default", "type", "connectionName"];
        var readme = RepositoryFiles.Read("README.md");
        var start = readme.IndexOf("**`host.json`**", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no **`host.json`** paragraph");
        var section = readme[start..readme.IndexOf("\n## ", start, StringComparison.Ordinal)];
        using var host = JsonDocument.Parse(RepositoryFiles.Read("host.json"));

        var unexplained = Leaves(host.RootElement).Except(restated).Where(name => !section.Contains(name, StringComparison.Ordinal)).ToList();

        Assert.True(unexplained.Count == 0, $"host.json values not explained in README.md's host.json table: {string.Join(", ", unexplained)}");
    }

    private static IEnumerable<string> Leaves(JsonElement element) => element.ValueKind == JsonValueKind.Object
        ? element.EnumerateObject().SelectMany(p => p.Value.ValueKind == JsonValueKind.Object ? Leaves(p.Value) : [p.Name])
        : [];

    /// <summary>The setting a name configures: <c>SoupStorage__clientId</c> is part of <c>SoupStorage</c>.</summary>
    private static string BaseName(string name)
    {
        var separator = name.IndexOf("__", StringComparison.Ordinal);
        return separator < 0 ? name : name[..separator];
    }

    private static void AssertSameNames(IEnumerable<string> expected, IEnumerable<string> actual, string where)
    {
        var wanted = expected.ToHashSet(StringComparer.Ordinal);
        var found = actual.ToHashSet(StringComparer.Ordinal);
        var missing = wanted.Except(found).Order(StringComparer.Ordinal).ToList();
        var extra = found.Except(wanted).Order(StringComparer.Ordinal).ToList();
        Assert.True(
            missing.Count == 0 && extra.Count == 0,
            $"{where}: missing {Describe(missing)} (read by the code); extra {Describe(extra)} (not read by the code)");
    }

    private static string Describe(List<string> names) => names.Count == 0 ? "nothing" : string.Join(", ", names);

    private static Dictionary<string, string?> LocalSettingsValues()
    {
        using var document = JsonDocument.Parse(RepositoryFiles.Read("local.settings.sample.json"));
        return document.RootElement.GetProperty("Values").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString(), StringComparer.Ordinal);
    }

    private static List<string> ReadmeSettingNames()
    {
        var readme = RepositoryFiles.Read("README.md").ReplaceLineEndings("\n");
        var start = readme.IndexOf("\n## Settings\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Settings' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];
        var names = new List<string>();
        foreach (Match row in TableRow().Matches(section))
        {
            Assert.DoesNotContain(row.Groups[1].Value, names);
            names.Add(row.Groups[1].Value);
        }

        Assert.NotEmpty(names);
        return names;
    }

    /// <summary>A table row whose first cell is one setting name in backticks.</summary>
    [GeneratedRegex(@"^\| `([^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
