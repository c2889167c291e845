using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using Soup.Core.Storage;
using Soup.Orchestration.Retention;

namespace Soup.Functions.Tests;

/// <summary>
/// The settings the code reads, found in the code itself: the options types (reflection, or their source where the
/// test cannot load the assembly without TorchSharp), the binding expressions and connection names of every function,
/// host.json's <c>%...%</c> expressions and connection, and the names the worker host reads directly.
/// </summary>
internal static partial class CodeSettings
{
    /// <summary>What the Functions app reads: options, bindings, host.json.</summary>
    public static IReadOnlySet<string> Functions { get; } = FunctionsSettings();

    /// <summary>What the worker container reads: shared options, worker options, and its host's own settings.</summary>
    public static IReadOnlySet<string> Worker { get; } = SettableProperties(typeof(PipelineOptions))
        .Append(PipelineOptions.ConnectionName)
        .Concat(SettableProperties(typeof(Soup.Core.Jobs.WorkerOptions)))
        .Concat(GetValueNames("workers/Soup.Worker/Program.cs"))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>What the local engine (pipeline run/serve/retention) reads beyond the shared options: its own, and retention's.</summary>
    public static IReadOnlySet<string> LocalEngine { get; } = SourceProperties("functions/Soup.Local/LocalEngineOptions.cs")
        .Concat(SettableProperties(typeof(RetentionOptions)))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>The blob-trigger function fed by Event Grid (runs in Azure; disabled locally).</summary>
    public static string EventGridLandingFunction { get; } = BlobTriggerFunction(eventGrid: true);

    /// <summary>The polling blob-trigger function (runs on Azurite; compiled only into local builds, so not found here).</summary>
    public static string ScanLandingFunction => CheckpointLandedFunction.ScanFunction;

    /// <summary>The standard switch that turns a function off.</summary>
    public static string DisabledSwitch(string function) => $"AzureWebJobs.{function}.Disabled";

    private static HashSet<string> FunctionsSettings()
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { PipelineOptions.ConnectionName };
        foreach (var options in BoundOptionsTypes())
            names.UnionWith(SettableProperties(options));
        foreach (var attribute in FunctionMethods().SelectMany(m => m.GetParameters()).SelectMany(p => p.GetCustomAttributesData()))
        {
            foreach (var value in attribute.ConstructorArguments.Select(a => a.Value).OfType<string>())
                names.UnionWith(Expressions(value));
            foreach (var named in attribute.NamedArguments.Where(a => a.TypedValue.Value is string))
            {
                var value = (string)named.TypedValue.Value!;
                names.UnionWith(Expressions(value));
                if (named.MemberName == "Connection")
                    names.Add(value);
            }
        }

        using var host = JsonDocument.Parse(RepositoryFiles.Read("host.json"));
        Walk(host.RootElement, names);
        return names;
    }

    /// <summary>
    /// Every options type the pipeline's services bind to the configuration (<c>AddOptions&lt;T&gt;().Bind(configuration)</c>
    /// in <c>AddSoupPipeline</c>, which both hosts call): found in the registrations, so a new one cannot be missed.
    /// </summary>
    private static IEnumerable<Type> BoundOptionsTypes()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Soup.Orchestration.OrchestrationServiceCollectionExtensions.AddSoupPipeline(services, new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        var types = services
            .Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(Microsoft.Extensions.Options.IOptionsChangeTokenSource<>))
            .Select(d => d.ServiceType.GetGenericArguments()[0])
            .Distinct()
            .ToList();
        if (!types.Contains(typeof(PipelineOptions)) || !types.Contains(typeof(RetentionOptions)))
            throw new InvalidOperationException("AddSoupPipeline no longer binds the options types this test expects to find: " + string.Join(", ", types.Select(t => t.Name)));
        return types;
    }

    private static void Walk(JsonElement element, HashSet<string> names)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "connectionName" && property.Value.ValueKind == JsonValueKind.String)
                    names.Add(property.Value.GetString()!);
                Walk(property.Value, names);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
                Walk(item, names);
        }
        else if (element.ValueKind == JsonValueKind.String)
        {
            names.UnionWith(Expressions(element.GetString()!));
        }
    }

    private static IEnumerable<MethodInfo> FunctionMethods() =>
        typeof(CheckpointLandedFunction).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null);

    private static string BlobTriggerFunction(bool eventGrid)
    {
        var matches = FunctionMethods().Where(m => m.GetParameters().Any(p =>
            p.GetCustomAttribute<BlobTriggerAttribute>() is { } trigger && (trigger.Source == BlobTriggerSource.EventGrid) == eventGrid)).ToList();
        Assert.True(matches.Count == 1, $"expected one {(eventGrid ? "Event Grid" : "polling")} blob-trigger function in the Release build, found {matches.Count}");
        return matches[0].GetCustomAttribute<FunctionAttribute>()!.Name;
    }

    private static IEnumerable<string> Expressions(string value) => ExpressionPattern().Matches(value).Select(m => m.Groups[1].Value);

    private static IEnumerable<string> SettableProperties(Type options) =>
        options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name);

    private static IEnumerable<string> SourceProperties(string file) =>
        PropertyPattern().Matches(RepositoryFiles.Read(file)).Select(m => m.Groups[1].Value);

    private static IEnumerable<string> GetValueNames(string file) =>
        GetValuePattern().Matches(RepositoryFiles.Read(file)).Select(m => m.Groups[1].Value);

    [GeneratedRegex("%([A-Za-z0-9_]+)%")]
    private static partial Regex ExpressionPattern();

    [GeneratedRegex(@"public\s+[\w<>?.,\s]+?\s+(\w+)\s*\{\s*get;\s*set;\s*\}")]
    private static partial Regex PropertyPattern();

    [GeneratedRegex(@"GetValue(?:<[^>]+>)?\(\s*""(\w+)""")]
    private static partial Regex GetValuePattern();
}
