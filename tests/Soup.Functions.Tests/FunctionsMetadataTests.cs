using System.Reflection;
using System.Text.Json;
using Soup.Orchestration;

namespace Soup.Functions.Tests;

/// <summary>
/// The Functions host indexes functions from functions.metadata (written by the Functions build). These tests prove it
/// would find the HTTP API, the orchestration, every activity and the blob-landing triggers (Event Grid and polling), with the right bindings.
/// </summary>
public sealed class FunctionsMetadataTests
{
    private static readonly JsonElement[] Functions = Load();

    [Fact]
    public void StartPipeline_IsPostHttpTriggerOnPipelinesRoute_WithDurableClient()
    {
        var trigger = Trigger("StartPipeline", "httpTrigger");
        Assert.Equal("pipelines", trigger.GetProperty("route").GetString());
        Assert.Equal(["post"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
        Assert.Contains(Bindings("StartPipeline"), b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Fact]
    public void GetPipeline_IsGetHttpTriggerWithIdInRoute()
    {
        var trigger = Trigger("GetPipeline", "httpTrigger");
        Assert.Equal("pipelines/{id}", trigger.GetProperty("route").GetString());
        Assert.Equal(["get"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
    }

    [Fact]
    public void ListPipelines_IsGetHttpTriggerOnPipelinesRoute()
    {
        var trigger = Trigger("ListPipelines", "httpTrigger");
        Assert.Equal("pipelines", trigger.GetProperty("route").GetString());
        Assert.Equal(["get"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
    }

    [Fact]
    public void CancelPipeline_IsPostHttpTriggerOnCancelRoute_WithDurableClient()
    {
        var trigger = Trigger("CancelPipeline", "httpTrigger");
        Assert.Equal("pipelines/{id}/cancel", trigger.GetProperty("route").GetString());
        Assert.Equal(["post"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
        Assert.Contains(Bindings("CancelPipeline"), b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Fact]
    public void GetPipelineReport_IsGetHttpTriggerOnReportRoute_WithDurableClient()
    {
        var trigger = Trigger("GetPipelineReport", "httpTrigger");
        Assert.Equal("pipelines/{id}/report", trigger.GetProperty("route").GetString());
        Assert.Equal(["get"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
        Assert.Contains(Bindings("GetPipelineReport"), b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Theory]
    [InlineData(TaskNames.Pipeline)]
    [InlineData(TaskNames.Round)]
    [InlineData(TaskNames.ScheduledPipeline)]
    public void EveryOrchestration_IsAnOrchestrationTrigger(string name)
    {
        Trigger(name, "orchestrationTrigger");
    }

    [Theory]
    [InlineData(TaskNames.DispatchJobs)]
    [InlineData(TaskNames.MergeCheckpoints)]
    [InlineData(TaskNames.SummarizeRound)]
    [InlineData(TaskNames.ReconcileLandings)]
    [InlineData(TaskNames.WriteReport)]
    [InlineData(TaskNames.StopJobs)]
    public void EveryActivity_IsAnActivityTrigger(string name)
    {
        Trigger(name, "activityTrigger");
    }

    [Fact]
    public void CheckpointLanded_IsAnEventGridBlobTriggerOnTheCheckpointsContainer_WithDurableClient()
    {
        var trigger = Trigger(CheckpointLandedFunction.EventGridFunction, "blobTrigger");
        Assert.Equal("%CheckpointsContainer%/{name}", trigger.GetProperty("path").GetString());
        Assert.Equal("SoupStorage", trigger.GetProperty("connection").GetString());
        Assert.Equal("EventGrid", trigger.GetProperty("source").GetString());
        Assert.Contains(Bindings(CheckpointLandedFunction.EventGridFunction), b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Fact]
    public void ReleaseBuild_EveryBlobTriggerIsEventGrid_TheScanIsNotThere()
    {
        // What is published to Flex Consumption, whose host refuses at load any blob trigger not fed by Event Grid.
        var blobTriggers = Functions.SelectMany(f => f.GetProperty("bindings").EnumerateArray()
            .Where(b => b.GetProperty("type").GetString() == "blobTrigger")
            .Select(b => (Function: f.GetProperty("name").GetString(), Source: b.TryGetProperty("source", out var s) ? s.GetString() : null))).ToList();

        Assert.Equal([(CheckpointLandedFunction.EventGridFunction, "EventGrid")], blobTriggers);
        Assert.DoesNotContain(Functions, f => f.GetProperty("name").GetString() == CheckpointLandedFunction.ScanFunction);
    }

    [Fact]
    public async Task PublishedRelease_HasOnlyTheEventGridBlobTrigger_AndShipsTheReportFont()
    {
        // The folder that is zipped and deployed (README, Deploy to Azure), published from the Release build the tests use.
        var folder = Directory.CreateTempSubdirectory("soup-functions-publish-").FullName;
        try
        {
            var project = RepositoryFiles.Path("functions/Soup.Functions/Soup.Functions.csproj");
            var publish = await DotnetAsync(["publish", project, "-c", "Release", "--no-build", "-o", folder, "-nologo", "-v", "quiet"]);
            Assert.True(publish.ExitCode == 0, "publish failed:\n" + publish.Output);

            var blobTriggers = Load(Path.Combine(folder, "functions.metadata"))
                .SelectMany(f => f.GetProperty("bindings").EnumerateArray()
                    .Where(b => b.GetProperty("type").GetString() == "blobTrigger")
                    .Select(b => (Function: f.GetProperty("name").GetString(), Source: b.TryGetProperty("source", out var s) ? s.GetString() : null)))
                .ToList();
            Assert.Equal([(CheckpointLandedFunction.EventGridFunction, "EventGrid")], blobTriggers);
            Assert.True(File.Exists(Path.Combine(folder, "Fonts", "DejaVuSans.ttf")), "the report font is not in the package");
            Assert.True(File.Exists(Path.Combine(folder, "Fonts", "DejaVuSans-Bold.ttf")), "the report's bold font is not in the package");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task DebugBuild_AddsCheckpointLandedScan_APollingBlobTriggerOnTheSameContainer_WithDurableClient()
    {
        // What `func start` builds locally against Azurite, which has no Event Grid. A real Debug build (about a minute).
        var project = RepositoryFiles.Path("functions/Soup.Functions/Soup.Functions.csproj");
        var build = await DotnetAsync(["build", project, "-c", "Debug", "-nologo", "-v", "quiet"]);
        Assert.True(build.ExitCode == 0, "Debug build failed:\n" + build.Output);
        var metadata = Load(RepositoryFiles.Path("functions/Soup.Functions/bin/Debug/net10.0/functions.metadata"));

        var scan = metadata.Single(f => f.GetProperty("name").GetString() == CheckpointLandedFunction.ScanFunction);
        var bindings = scan.GetProperty("bindings").EnumerateArray().ToList();
        var trigger = bindings.Single(b => b.GetProperty("type").GetString() == "blobTrigger");
        Assert.Equal("%CheckpointsContainer%/{name}", trigger.GetProperty("path").GetString());
        Assert.Equal("SoupStorage", trigger.GetProperty("connection").GetString());
        // No source is the default: LogsAndContainerScan (polling), the one Azurite supports.
        Assert.True(!trigger.TryGetProperty("source", out var source) || source.GetString() == "LogsAndContainerScan");
        Assert.Contains(bindings, b => b.GetProperty("type").GetString() == "durableClient");
        Assert.Contains(metadata, f => f.GetProperty("name").GetString() == CheckpointLandedFunction.EventGridFunction);
    }

    [Fact]
    public void ScheduledRetrain_IsATimerTriggerOnTheScheduleSetting()
    {
        var trigger = Trigger("ScheduledRetrain", "timerTrigger");
        Assert.Equal("%RetrainSchedule%", trigger.GetProperty("schedule").GetString());
    }

    [Fact]
    public void ApplyRetention_IsATimerTriggerOnTheRetentionScheduleSetting_WithDurableClient()
    {
        var trigger = Trigger("ApplyRetention", "timerTrigger");
        Assert.Equal("%RetentionSchedule%", trigger.GetProperty("schedule").GetString());
        Assert.Contains(Bindings("ApplyRetention"), b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Fact]
    public void Metadata_DeclaresNoFunctionBeyondTheExpectedSet()
    {
        string[] expected =
        [
            "StartPipeline", "GetPipeline", "GetPipelineReport", "ListPipelines", "CancelPipeline", "CheckpointLanded", "ScheduledRetrain", "ApplyRetention", TaskNames.Pipeline, TaskNames.Round, TaskNames.ScheduledPipeline,
            TaskNames.DispatchJobs, TaskNames.MergeCheckpoints, TaskNames.SummarizeRound, TaskNames.ReconcileLandings, TaskNames.WriteReport, TaskNames.StopJobs,
        ];
        Assert.Equal(expected.Order(), Functions.Select(f => f.GetProperty("name").GetString()!).Order());
    }

    private static JsonElement Trigger(string function, string type)
    {
        var trigger = Bindings(function).SingleOrDefault(b => b.GetProperty("type").GetString() == type);
        Assert.True(trigger.ValueKind == JsonValueKind.Object, $"function '{function}' has no binding of type '{type}'");
        Assert.Equal("In", trigger.GetProperty("direction").GetString());
        return trigger;
    }

    private static IEnumerable<JsonElement> Bindings(string function)
    {
        var entry = Functions.SingleOrDefault(f => f.GetProperty("name").GetString() == function);
        Assert.True(entry.ValueKind == JsonValueKind.Object, $"functions.metadata does not declare '{function}'");
        return entry.GetProperty("bindings").EnumerateArray().ToList();
    }

    private static async Task<(int ExitCode, string Output)> DotnetAsync(IEnumerable<string> arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output + await error);
    }

    private static JsonElement[] Load() => Load(typeof(FunctionsMetadataTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FunctionsMetadataPath").Value!);

    private static JsonElement[] Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"functions.metadata not found at {path}: build functions/Soup.Functions first (the solution build does).", path);
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }
}
