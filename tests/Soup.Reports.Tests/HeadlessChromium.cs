using System.ComponentModel;
using System.Diagnostics;
using SkiaSharp;

namespace Soup.Reports.Tests;

/// <summary>
/// Opens a page in Debian's headless Chromium: its DOM as Chromium built it (<c>--dump-dom</c>) and a screenshot
/// decoded with SkiaSharp. Fails the test, saying what to install, when Chromium cannot run: never skips, so CI cannot
/// pass without it (scripts/setup.sh chromium installs it).
/// </summary>
internal static class HeadlessChromium
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    /// <summary>The page's DOM after Chromium parsed and laid it out.</summary>
    public static string DumpDom(string htmlFile) => Run(htmlFile, ["--dump-dom"]).Output;

    /// <summary>A screenshot of the page at <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public static SKBitmap Screenshot(string htmlFile, int width, int height)
    {
        var png = Path.Combine(Path.GetTempPath(), $"soup-report-{Guid.NewGuid():N}.png");
        try
        {
            var run = Run(htmlFile, [$"--screenshot={png}", $"--window-size={width},{height}", "--hide-scrollbars"]);
            Assert.True(File.Exists(png), $"Chromium wrote no screenshot: {run.Errors}");
            return SKBitmap.Decode(png) ?? throw new InvalidDataException($"the screenshot {png} does not decode as an image");
        }
        finally
        {
            File.Delete(png);
        }
    }

    private static (string Output, string Errors) Run(string htmlFile, IEnumerable<string> arguments)
    {
        var executable = Candidates.FirstOrDefault(File.Exists);
        if (executable is null)
        {
            Assert.Fail($"Headless Chromium is needed to check reports and none was found ({string.Join(", ", Candidates)}): " +
                "install Debian's chromium package (bash scripts/setup.sh chromium).");
        }

        var profile = Directory.CreateTempSubdirectory("soup-chromium-");
        try
        {
            var start = new ProcessStartInfo(executable!) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", $"--user-data-dir={profile.FullName}", .. arguments])
                start.ArgumentList.Add(argument);
            start.ArgumentList.Add(new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri);
            using var process = StartProcess(start, executable!);
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"Chromium ran for over 2 minutes on {htmlFile}.");
            }

            var errors = stderr.GetAwaiter().GetResult();
            Assert.True(process.ExitCode == 0, $"Chromium exited with {process.ExitCode}: {errors}");
            return (stdout.GetAwaiter().GetResult(), errors);
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    private static Process StartProcess(ProcessStartInfo start, string executable)
    {
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start");
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"{executable} cannot run ({e.Message}); install Debian's chromium package (bash scripts/setup.sh chromium).");
            throw;
        }
    }
}
