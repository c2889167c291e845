namespace Soup.Cli.Commands;

/// <summary><c>pipeline validate spec.json</c>: exit 0 when valid, 2 with every problem listed otherwise.</summary>
public static class ValidateCommand
{
    /// <summary>Checks <paramref name="file"/>, writing the verdict to <paramref name="output"/>; returns the exit code.</summary>
    public static int Execute(FileInfo file, TextWriter output)
    {
        var parsed = SpecLoader.Load(file);
        if (!parsed.IsValid)
        {
            SpecLoader.PrintProblems(output, file.Name, parsed.Problems);
            return 2;
        }

        output.WriteLine($"{file.Name}: valid ({parsed.Spec!.Rounds} round(s) of {parsed.Spec.Members.Count} member(s)).");
        return 0;
    }
}
