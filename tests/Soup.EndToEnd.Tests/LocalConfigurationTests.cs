using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Local;

namespace Soup.EndToEnd.Tests;

/// <summary>The local engine's configuration restates no default of the options classes; it only sets what differs.</summary>
public sealed class LocalConfigurationTests
{
    private static readonly Type[] OptionsTypes = [typeof(PipelineOptions), typeof(WorkerOptions), typeof(LocalEngineOptions)];

    [Fact]
    public void Defaults_SetOnlySettingsThatDifferFromTheOptionsDefaults()
    {
        foreach (var (key, value) in LocalConfiguration.Defaults)
        {
            foreach (var type in OptionsTypes)
            {
                if (type.GetProperty(key, BindingFlags.Public | BindingFlags.Instance) is not { CanWrite: true } property)
                    continue;
                var codeDefault = Convert.ToString(property.GetValue(Activator.CreateInstance(type)), CultureInfo.InvariantCulture);
                var local = Convert.ToString(new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build().GetValue(property.PropertyType, key), CultureInfo.InvariantCulture);
                Assert.True(local != codeDefault, $"LocalConfiguration.Defaults restates {type.Name}.{key} = {codeDefault}: drop it, the options default applies");
            }
        }
    }

    [Fact]
    public void Settings_ItDoesNotSet_AreTheOptionsDefaults()
    {
        var configuration = LocalConfiguration.Build(dataRoot: null, workers: 2, new Dictionary<string, string?>());

        Assert.Equal(Environment.GetEnvironmentVariable("JobsQueue") ?? new PipelineOptions().JobsQueue, LocalConfiguration.Pipeline(configuration).JobsQueue);
        Assert.Equal(TimeSpan.FromSeconds(5), LocalConfiguration.Worker(configuration).CancellationCheckInterval);
        Assert.Equal(2, LocalConfiguration.Engine(configuration).InProcessWorkers);
        Assert.Equal("/elsewhere", LocalConfiguration.Worker(LocalConfiguration.Build("/elsewhere", 1)).DataRoot);
    }
}
