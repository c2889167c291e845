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
    [Fact]
    public async Task Worker_WithIdleShutdownAndAnEmptyQueue_StopsTheHost()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var host = TestWorkerHost.Build(configuration, new Dictionary<string, string?>
        {
            ["IdleShutdown"] = "00:00:01",
            ["QueuePollInterval"] = "00:00:00.200",
        });
        await host.Services.GetRequiredService<SoupStorage>().EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var stopped = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

        await host.StartAsync(TestContext.Current.CancellationToken);
        var signal = new TaskCompletionSource();
        using var registration = stopped.Register(signal.SetResult);
        var finished = await Task.WhenAny(signal.Task, Task.Delay(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.Same(signal.Task, finished);
    }

    [Fact]
    public async Task Worker_WithoutIdleShutdown_KeepsPolling()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var host = TestWorkerHost.Build(configuration, new Dictionary<string, string?> { ["QueuePollInterval"] = "00:00:00.200" });
        await host.Services.GetRequiredService<SoupStorage>().EnsureCreatedAsync(TestContext.Current.CancellationToken);
        var stopped = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

        await host.StartAsync(TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        var stoppedByItself = stopped.IsCancellationRequested;
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.False(stoppedByItself);
    }
}
