using System.Reflection;

namespace Soup.Functions.Tests;

/// <summary>Files of the repository and tools the build located (assembly metadata written by the test project).</summary>
internal static class RepositoryFiles
{
    /// <summary>The repository's root folder.</summary>
    public static string Root { get; } = Metadata("RepositoryRoot");

    /// <summary>The Bicep CLI restored from NuGet (infra/tools/Bicep.props).</summary>
    public static string BicepCli { get; } = Metadata("BicepCliPath");

    /// <summary>The full path of a file given relative to the root.</summary>
    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    /// <summary>The text of a file given relative to the root.</summary>
    public static string Read(string relative) => File.ReadAllText(Path(relative));

    private static string Metadata(string key) =>
        typeof(RepositoryFiles).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"assembly metadata '{key}' is empty");
}
