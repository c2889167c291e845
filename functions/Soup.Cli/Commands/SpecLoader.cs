using Soup.Core.Specs;

namespace Soup.Cli.Commands;

/// <summary>Reads a spec file, or the embedded quickstart spec, and prints problems the way the HTTP API lists them.</summary>
internal static class SpecLoader
{
    private const string QuickstartResource = "Soup.Cli.quickstart.json";

    public static SpecParseResult Load(FileInfo? file)
    {
        if (file is not null)
        {
            return SpecParser.ParseFile(file.FullName);
        }

        using var stream = typeof(SpecLoader).Assembly.GetManifestResourceStream(QuickstartResource)
            ?? throw new InvalidOperationException($"embedded resource {QuickstartResource} is missing from the build");
        using var reader = new StreamReader(stream);
        return SpecParser.Parse(reader.ReadToEnd());
    }

    public static void PrintProblems(TextWriter output, string source, IReadOnlyList<SpecProblem> problems)
    {
        output.WriteLine($"{source}: {problems.Count} problem(s); nothing was started.");
        foreach (var problem in problems)
        {
            output.WriteLine($"  {problem.Path}: {problem.Message}");
        }
    }
}
