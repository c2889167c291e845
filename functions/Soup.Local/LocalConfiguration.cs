using Microsoft.Extensions.Configuration;

namespace Soup.Local;

/// <summary>
/// The local engine's settings: working Azurite defaults, overridden by environment variables of the same names
/// (the names of local.settings.sample.json), overridden by command-line options.
/// </summary>
public static class LocalConfiguration
{
    /// <summary>The defaults: everything on Azurite, Fashion-MNIST where Debian's package puts it.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        ["SoupStorage"] = "UseDevelopmentStorage=true",
        ["TaskHubName"] = "souplocal",
        ["CheckpointsContainer"] = "checkpoints",
        ["JobsQueue"] = "soup-jobs",
        ["SpecsContainer"] = "specs",
        ["ReportsContainer"] = "reports",
        ["DataRoot"] = "/usr/share/datasets",
        ["CancellationCheckInterval"] = "00:00:05", // local storage: a cancelled local run stops its jobs quickly
    };

    /// <summary>Builds the configuration.</summary>
    public static IConfiguration Build(string? dataRoot, int workers, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var explicitValues = new Dictionary<string, string?> { ["InProcessWorkers"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (dataRoot is not null)
        {
            explicitValues["DataRoot"] = dataRoot;
        }

        return new ConfigurationBuilder()
            .AddInMemoryCollection(Defaults)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(explicitValues)
            .AddInMemoryCollection(overrides ?? new Dictionary<string, string?>())
            .Build();
    }
}
