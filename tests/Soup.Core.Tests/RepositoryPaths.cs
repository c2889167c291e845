namespace Soup.Core.Tests;

/// <summary>Where the repository is, for tests that read its files (schemas, project files).</summary>
internal static class RepositoryPaths
{
    /// <summary>The folder holding Pipeline.sln, above the test output.</summary>
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Pipeline.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Pipeline.sln not found above the test output");
    }
}
