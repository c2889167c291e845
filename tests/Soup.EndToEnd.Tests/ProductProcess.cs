using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// One of the product's executables (the worker <c>soup-worker</c>, the CLI <c>pipeline</c>) run from its build output as a
/// child process, with the test's settings as environment variables.
/// </summary>
internal sealed class ProductProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringWriterSink _log = new();

    private ProductProcess(Process process)
    {
        this._process = process;
        process.OutputDataReceived += (_, e) => _log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => _log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Everything the worker printed so far.</summary>
    public string Log => _log.Text;

    public int Id => _process.Id;

    /// <summary>True once the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the worker with every setting of <paramref name="configuration"/> as environment variables.</summary>
    public static ProductProcess Start(IConfiguration configuration, IReadOnlyDictionary<string, string>? overrides = null) =>
        Start(Path.Combine("workers", "Soup.Worker"), "soup-worker.dll", [], configuration, overrides);

    /// <summary>Starts the <c>pipeline</c> CLI with <paramref name="arguments"/> and the settings as environment variables.</summary>
    public static ProductProcess StartCli(IReadOnlyList<string> arguments, IConfiguration configuration, IReadOnlyDictionary<string, string>? overrides = null) =>
        Start(Path.Combine("functions", "Soup.Cli"), "pipeline.dll", arguments, configuration, overrides);

    private static ProductProcess Start(
        string project, string dll, IReadOnlyList<string> arguments, IConfiguration configuration, IReadOnlyDictionary<string, string>? overrides)
    {
        var start = new ProcessStartInfo("dotnet", [BuildOutput(project, dll), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (value is not null)
                start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        start.Environment["Logging__LogLevel__Default"] = "Information";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return new ProductProcess(Process.Start(start) ?? throw new InvalidOperationException("the worker did not start"));
    }

    /// <summary>Sends SIGTERM, as a container runtime does on preemption.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Kills the process outright (SIGKILL): a crash, nothing saved on the way out.</summary>
    public void Crash() => _process.Kill(entireProcessTree: true);

    /// <summary>Waits for the process to exit; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the worker did not exit within {timeout}; its log:\n{Log}");
        }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    /// <summary>A project's build output, in the configuration the tests were built with.</summary>
    /// <summary>The built <paramref name="dllName"/> of <paramref name="project"/> (same configuration as the tests).</summary>
    internal static string BuildOutput(string project, string dllName)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Parent!.Name; // bin/<Configuration>/net10.0
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Pipeline.sln")))
            root = root.Parent;
        if (root is null)
            throw new InvalidOperationException($"no Pipeline.sln above {AppContext.BaseDirectory}");
        var dll = Path.Combine(root.FullName, project, "bin", configuration, "net10.0", dllName);
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build {project} ({configuration}) first", dll);
    }

    private sealed class StringWriterSink
    {
        private readonly Lock _gate = new();
        private readonly System.Text.StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_gate)
                    return _text.ToString();
            }
        }

        public void Add(string? line)
        {
            if (line is null)
                return;
            lock (_gate)
                _text.AppendLine(line);
        }
    }
}
