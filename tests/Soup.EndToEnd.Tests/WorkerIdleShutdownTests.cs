using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core.Storage;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// A worker run as a Container Apps job execution ends once the queue stays empty (IdleShutdown), so the GPU is
/// released; without the setting it keeps polling.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WorkerIdleShutdownTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Worker_WithIdleShutdownAndAnEmptyQueue_StopsTheHost()
    {
        using var host = await StartWorkerAsync(idleShutdown: "00:00:01");
        var stopped = new TaskCompletionSource();
        using var registration = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(stopped.SetResult);

        var first = await Task.WhenAny(stopped.Task, Task.Delay(TimeSpan.FromSeconds(30), Cancel));
        await host.StopAsync(Cancel);

        Assert.Same(stopped.Task, first);
    }

    [Fact]
    public async Task Worker_WithoutIdleShutdown_KeepsPolling()
    {
        using var host = await StartWorkerAsync(idleShutdown: null);

        await Task.Delay(TimeSpan.FromSeconds(2), Cancel);
        var stoppedByItself = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested;
        await host.StopAsync(Cancel);

        Assert.False(stoppedByItself);
    }

    private async Task<IHost> StartWorkerAsync(string? idleShutdown)
    {
        var overrides = new Dictionary<string, string?> { ["QueuePollInterval"] = "00:00:00.200" };
        if (idleShutdown is not null)
            overrides["IdleShutdown"] = idleShutdown;
        var host = TestWorkerHost.Build(fixture.NewConfiguration(workers: 0), overrides);
        await host.Services.GetRequiredService<SoupStorage>().EnsureCreatedAsync(Cancel);
        await host.StartAsync(Cancel);
        return host;
    }
}
