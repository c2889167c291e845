using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Jobs;

namespace Soup.EndToEnd.Tests;

/// <summary>An in-process job worker host (not started unless a test starts it) on a test's storage names.</summary>
internal static class TestWorkerHost
{
    public static IHost Build(IConfiguration configuration, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);
        builder.Services.AddSoupJobs(builder.Configuration);
        return builder.Build();
    }
}
