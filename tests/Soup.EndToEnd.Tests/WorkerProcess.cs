using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace Soup.EndToEnd.Tests;

/// <summary>The real worker executable (soup-worker) run as a child process against the test's storage names.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process process;
    private readonly StringWriterSink log = new();

    private WorkerProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Everything the worker printed so far.</summary>
    public string Log => log.Text;

    public int Id => process.Id;

    /// <summary>Starts the worker with every setting of <paramref name="configuration"/> as environment variables.</summary>
    public static WorkerProcess Start(IConfiguration configuration, IReadOnlyDictionary<string, string>? overrides = null)
    {
        var start = new ProcessStartInfo("dotnet", [WorkerDll()])
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
        return new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException("the worker did not start"));
    }

    /// <summary>Sends SIGTERM, as a container runtime does on preemption.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Kills the process outright (SIGKILL): a crash, nothing saved on the way out.</summary>
    public void Crash() => process.Kill(entireProcessTree: true);

    /// <summary>Waits for the process to exit; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the worker did not exit within {timeout}; its log:\n{Log}");
        }
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.Dispose();
    }

    /// <summary>workers/Soup.Worker's build output, in the configuration the tests were built with.</summary>
    private static string WorkerDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Parent!.Name; // bin/<Configuration>/net10.0
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Pipeline.sln")))
            root = root.Parent;
        if (root is null)
            throw new InvalidOperationException($"no Pipeline.sln above {AppContext.BaseDirectory}");
        var dll = Path.Combine(root.FullName, "workers", "Soup.Worker", "bin", configuration, "net10.0", "soup-worker.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build workers/Soup.Worker ({configuration}) first", dll);
    }

    private sealed class StringWriterSink
    {
        private readonly Lock gate = new();
        private readonly System.Text.StringBuilder text = new();

        public string Text
        {
            get
            {
                lock (gate)
                    return text.ToString();
            }
        }

        public void Add(string? line)
        {
            if (line is null)
                return;
            lock (gate)
                text.AppendLine(line);
        }
    }
}
