using System.Diagnostics;

namespace Soup.EndToEnd.Tests;

/// <summary>The <c>pipeline</c> CLI from its build output as a child process, as users run it (no test settings in its environment).</summary>
internal static class CliRun
{
    /// <summary>Starts the CLI with <paramref name="arguments"/>, its stdout and stderr redirected.</summary>
    public static Process Start(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet", [ProductProcess.BuildOutput(Path.Combine("functions", "Soup.Cli"), "pipeline.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return Process.Start(start) ?? throw new InvalidOperationException("the CLI did not start");
    }

    /// <summary>Runs the CLI to its end (at most a minute): its exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(IEnumerable<string> arguments)
    {
        var cancel = TestContext.Current.CancellationToken;
        using var process = Start(arguments);
        var stdout = process.StandardOutput.ReadToEndAsync(cancel);
        var stderr = process.StandardError.ReadToEndAsync(cancel);
        await process.WaitForExitAsync(cancel).WaitAsync(TimeSpan.FromSeconds(60), cancel);
        return (process.ExitCode, await stdout, await stderr);
    }
}
