using Microsoft.DurableTask.Client;
using Soup.Cli.Commands;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// <c>pipeline status</c>, <c>list</c> and <c>cancel</c> on a client-only engine over the task hub of another engine
/// (the fixture's, which runs the pipelines): output and exit codes.
/// </summary>
public sealed class PipelineCommandsTests(ApiEngineFixture engine) : IClassFixture<ApiEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void CliApp_ParsesServeStatusListAndCancel()
    {
        var root = CliApp.Build();

        Assert.Empty(root.Parse(["serve", "--urls", "http://127.0.0.1:0", "--workers", "0"]).Errors);
        Assert.Empty(root.Parse(["status", "some-id", "--json"]).Errors);
        Assert.Empty(root.Parse(["list", "--status", "Running,Completed"]).Errors);
        Assert.Empty(root.Parse(["cancel", "some-id", "--reason", "why"]).Errors);
        Assert.NotEmpty(root.Parse(["status"]).Errors);
        Assert.NotEmpty(root.Parse(["cancel"]).Errors);
    }

    [Fact]
    public async Task Status_UnknownId_Exits1NamingIt()
    {
        var output = new StringWriter();

        var code = await PipelineCommands.StatusAsync(engine.Configuration, "no-such-pipeline", json: false, output, Cancel);

        Assert.Equal(1, code);
        Assert.Contains("'no-such-pipeline'", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_UnknownId_Exits1NamingIt()
    {
        var output = new StringWriter();

        var code = await PipelineCommands.CancelAsync(engine.Configuration, "no-such-pipeline", null, json: false, output, Cancel);

        Assert.Equal(1, code);
        Assert.Contains("'no-such-pipeline'", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_UnknownStatus_Exits2NamingIt()
    {
        var output = new StringWriter();

        var code = await PipelineCommands.ListAsync(engine.Configuration, "Sleeping", json: false, output, Cancel);

        Assert.Equal(2, code);
        Assert.Contains("'Sleeping'", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusListCancel_RunningPipeline_ShowAndCancelIt()
    {
        var id = await engine.StartAsync(ApiEngineFixture.SpecJson("clicancel"));
        await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);

        var status = new StringWriter();
        Assert.Equal(0, await PipelineCommands.StatusAsync(engine.Configuration, id, json: false, status, Cancel));
        Assert.Contains($"Pipeline {id}: Running", status.ToString(), StringComparison.Ordinal);

        var list = new StringWriter();
        Assert.Equal(0, await PipelineCommands.ListAsync(engine.Configuration, "Running", json: false, list, Cancel));
        Assert.Contains(list.ToString().Split('\n'), line => line.StartsWith(id, StringComparison.Ordinal) && line.Contains("clicancel", StringComparison.Ordinal));

        var cancel = new StringWriter();
        Assert.Equal(0, await PipelineCommands.CancelAsync(engine.Configuration, id, "from the CLI", json: false, cancel, Cancel));
        Assert.Contains("cancellation recorded", cancel.ToString(), StringComparison.Ordinal);

        // The fixture's engine (the one running the pipeline) applies the termination.
        await engine.WaitForStatusAsync(id, OrchestrationRuntimeStatus.Terminated);
        var again = new StringWriter();
        Assert.Equal(4, await PipelineCommands.CancelAsync(engine.Configuration, id, null, json: false, again, Cancel));
        Assert.Contains("Terminated", again.ToString(), StringComparison.Ordinal);
    }
}
