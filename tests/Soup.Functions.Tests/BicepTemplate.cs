using System.Diagnostics;
using System.Text.Json;

namespace Soup.Functions.Tests;

/// <summary>infra/main.bicep compiled to an ARM template by the Bicep CLI, and the settings it gives each component.</summary>
internal sealed class BicepTemplate
{
    private BicepTemplate(string json)
    {
        Json = json;
        using var document = JsonDocument.Parse(json);
        var resources = Resources(document.RootElement).ToList();
        AppSettings = Names(resources, "Microsoft.Web/sites", site => site.GetProperty("properties").GetProperty("siteConfig").GetProperty("appSettings").EnumerateArray());
        WorkerEnvironment = Names(resources, "Microsoft.App/jobs", job => job.GetProperty("properties").GetProperty("template").GetProperty("containers")
            .EnumerateArray().SelectMany(c => c.GetProperty("env").EnumerateArray()));
    }

    /// <summary>The compiled template (JSON).</summary>
    public string Json { get; }

    /// <summary>The function app's settings, name to value (an ARM expression where the value is computed).</summary>
    public IReadOnlyDictionary<string, string> AppSettings { get; }

    /// <summary>The worker job's environment variables, name to value.</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment { get; }

    /// <summary>infra/main.bicep compiled once for every test class that reads it (the Bicep CLI takes seconds).</summary>
    public static Lazy<BicepTemplate> Main { get; } = new(Compile);

    /// <summary>Compiles infra/main.bicep.</summary>
    public static BicepTemplate Compile()
    {
        Assert.True(File.Exists(RepositoryFiles.BicepCli), $"Bicep CLI not found at {RepositoryFiles.BicepCli}: restore this test project (it downloads Azure.Bicep.CommandLine.linux-x64).");
        var start = new ProcessStartInfo(RepositoryFiles.BicepCli, ["build", RepositoryFiles.Path("infra/main.bicep"), "--stdout"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.TryAdd("DOTNET_BUNDLE_EXTRACT_BASE_DIR", System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bicep-extract"));
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "bicep build did not finish in 3 minutes");
        Assert.True(process.ExitCode == 0, $"bicep build failed: {error.Result}");
        return new BicepTemplate(output);
    }

    private static Dictionary<string, string> Names(List<JsonElement> resources, string type, Func<JsonElement, IEnumerable<JsonElement>> settings)
    {
        var matching = resources.Where(r => r.GetProperty("type").GetString() == type).ToList();
        Assert.True(matching.Count == 1, $"the template declares {matching.Count} resources of type {type}; expected 1");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var setting in settings(matching[0]))
        {
            var name = setting.GetProperty("name").GetString()!;
            Assert.False(name.StartsWith('['), $"setting name {name} of {type} is an expression: write it literally so that it can be checked");
            Assert.True(result.TryAdd(name, setting.GetProperty("value").ToString()), $"setting {name} of {type} is given twice");
        }

        return result;
    }

    /// <summary>Every resource, nested deployments' included (resources are an array, or an object with symbolic names).</summary>
    public static IEnumerable<JsonElement> Resources(JsonElement template)
    {
        if (!template.TryGetProperty("resources", out var resources))
            yield break;
        var items = resources.ValueKind == JsonValueKind.Array ? resources.EnumerateArray().ToList() : resources.EnumerateObject().Select(p => p.Value).ToList();
        foreach (var resource in items)
        {
            yield return resource;
            if (resource.GetProperty("type").GetString() == "Microsoft.Resources/deployments"
                && resource.GetProperty("properties").TryGetProperty("template", out var nested))
            {
                foreach (var inner in Resources(nested))
                    yield return inner;
            }
        }
    }
}
