using System.Xml.Linq;

namespace Soup.Core.Tests.Build;

/// <summary>
/// Every project that runs torch (references workers/Soup.Training, directly or through other projects) imports
/// workers/TorchSharpNativeFix.targets, so its build output loads TorchSharp on Debian 12 / Ubuntu 22.04.
/// </summary>
public sealed class TorchNativeFixCoverageTests
{
    [Fact]
    public void Projects_RunningTorch_ImportTheNativeFix()
    {
        var root = RepositoryPaths.Root();
        var projects = Directory.GetFiles(root, "*.csproj", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(Path.GetFullPath, p => XDocument.Load(p));
        var training = projects.Keys.Single(p => p.EndsWith("Soup.Training.csproj", StringComparison.Ordinal));

        var runsTorch = projects.Keys.Where(p => References(p, training, projects, [])).ToList();
        var missing = runsTorch.Where(p => !projects[p].Descendants("Import")
            .Any(i => ((string?)i.Attribute("Project"))?.EndsWith("TorchSharpNativeFix.targets", StringComparison.Ordinal) == true)).ToList();

        Assert.Contains(training, runsTorch);
        Assert.True(runsTorch.Count >= 5, $"expected the worker, jobs, CLI and test projects to run torch; found {runsTorch.Count}");
        Assert.True(missing.Count == 0, "projects that run torch without importing TorchSharpNativeFix.targets: " + string.Join(", ", missing.Select(p => Path.GetRelativePath(root, p))));
    }

    private static bool References(string project, string target, Dictionary<string, XDocument> projects, HashSet<string> seen)
    {
        if (project == target)
            return true;
        if (!seen.Add(project))
            return false;
        var folder = Path.GetDirectoryName(project)!;
        return projects[project].Descendants("ProjectReference")
            .Select(r => Path.GetFullPath(Path.Combine(folder, ((string)r.Attribute("Include")!).Replace('\\', Path.DirectorySeparatorChar))))
            .Any(r => projects.ContainsKey(r) && References(r, target, projects, seen));
    }
}
