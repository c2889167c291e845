using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// An Azurite of one test's own (the repository's node_modules/.bin/azurite, free ports, a temporary data folder), so
/// the test can stop and restart storage under a running worker without disturbing the shared Azurite.
/// </summary>
internal sealed class PrivateAzurite : IDisposable
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string _folder = Directory.CreateTempSubdirectory("soup-azurite-").FullName;
    private readonly int _blobPort = Soup.Orchestration.Tests.FreePorts.Next();
    private readonly int _queuePort = Soup.Orchestration.Tests.FreePorts.Next();
    private readonly int _tablePort = Soup.Orchestration.Tests.FreePorts.Next();
    private Process? _process;

    private PrivateAzurite()
    {
    }

    /// <summary>The connection string of this Azurite.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
        $"BlobEndpoint=http://127.0.0.1:{_blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{_queuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{_tablePort}/devstoreaccount1;";

    /// <summary>Starts a fresh one.</summary>
    public static async Task<PrivateAzurite> StartAsync()
    {
        var azurite = new PrivateAzurite();
        await azurite.RestartAsync();
        return azurite;
    }

    /// <summary>(Re)starts it on the same ports and data folder.</summary>
    public async Task RestartAsync()
    {
        var executable = Path.Combine(RepositoryRoot(), "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
            throw new InvalidOperationException($"Azurite is not installed at {executable}: run scripts/setup.sh azurite (npm ci)");
        var start = new ProcessStartInfo(executable,
        [
            "--silent", "--location", _folder, "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", $"{_blobPort}",
            "--queueHost", "127.0.0.1", "--queuePort", $"{_queuePort}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{_tablePort}",
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Listening(_blobPort) || !Listening(_queuePort))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
                throw new InvalidOperationException($"Azurite did not listen on {_blobPort}/{_queuePort}");
            await Task.Delay(100);
        }
    }

    /// <summary>Stops it (SIGTERM, so it saves its state, as a restarted service would have it), and waits for the ports to close.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
            return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        while (Listening(_blobPort) || Listening(_queuePort))
            await Task.Delay(100);
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
            _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"no Pipeline.sln above {AppContext.BaseDirectory}");
    }
}
