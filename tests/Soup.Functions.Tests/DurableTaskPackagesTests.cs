using System.Reflection;
using System.Text.Json;

namespace Soup.Functions.Tests;

/// <summary>
/// The Functions app ships one version of the Durable Task SDK: its deps.json (what the host loads) names every
/// Microsoft.DurableTask.* package at the same version, though the Durable extension asks for older gRPC ones.
/// </summary>
public sealed class DurableTaskPackagesTests
{
    [Fact]
    public void FunctionsApp_DurableTaskSdkPackages_ShareOneVersion()
    {
        var metadata = typeof(DurableTaskPackagesTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "FunctionsMetadataPath").Value!;
        var depsFile = Path.Combine(Path.GetDirectoryName(metadata)!, "Soup.Functions.deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));

        var packages = deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package")
            .Select(l => l.Name.Split('/'))
            .Where(p => p[0].StartsWith("Microsoft.DurableTask.", StringComparison.Ordinal))
            .ToList();

        Assert.Contains(packages, p => p[0] == "Microsoft.DurableTask.Worker.Grpc");
        Assert.Contains(packages, p => p[0] == "Microsoft.DurableTask.Client");
        var versions = packages.GroupBy(p => p[1]).ToDictionary(g => g.Key, g => string.Join(", ", g.Select(p => p[0])));
        Assert.True(versions.Count == 1, "Durable Task SDK packages at several versions: " + string.Join("; ", versions.Select(v => $"{v.Key}: {v.Value}")));
    }
}
