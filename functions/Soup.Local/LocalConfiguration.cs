using Microsoft.Extensions.Configuration;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Local;

/// <summary>
/// The local engine's settings: working Azurite defaults, overridden by environment variables of the same names
/// (the names of local.settings.sample.json), overridden by command-line options.
/// </summary>
public static class LocalConfiguration
{
    /// <summary>
    /// What the local engine sets unlike a deployment: the data on Azurite, quicker cancellation. Settings it does not
    /// change (container and queue names, the data root, the task hub, ...) are not repeated here: they come from the
    /// options classes' defaults (<see cref="PipelineOptions"/>, <see cref="WorkerOptions"/>,
    /// <see cref="LocalEngineOptions"/>), so changing one there changes it everywhere (<c>LocalConfigurationTests</c>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["SoupStorage"] = "UseDevelopmentStorage=true",
        ["CancellationCheckInterval"] = "00:00:05", // local storage: a cancelled local run stops its jobs quickly
        ["ResumeInterval"] = "00:00:00", // CPU-sized jobs on local storage: a resumption checkpoint at every interval of steps
    };

    /// <summary>The shared options as <paramref name="configuration"/> sets them (defaults where it does not).</summary>
    public static PipelineOptions Pipeline(IConfiguration configuration) => configuration.Get<PipelineOptions>() ?? new PipelineOptions();

    /// <summary>The local engine's own options as <paramref name="configuration"/> sets them (defaults where it does not).</summary>
    public static LocalEngineOptions Engine(IConfiguration configuration) => configuration.Get<LocalEngineOptions>() ?? new LocalEngineOptions();

    /// <summary>The worker options as <paramref name="configuration"/> sets them (defaults where it does not).</summary>
    public static WorkerOptions Worker(IConfiguration configuration) => configuration.Get<WorkerOptions>() ?? new WorkerOptions();

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
