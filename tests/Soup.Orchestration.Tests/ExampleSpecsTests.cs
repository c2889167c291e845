using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>The specs under <c>examples/</c>: all valid, every recipe has one, and each plans into jobs.</summary>
public sealed class ExampleSpecsTests
{
    private static readonly string Examples = Path.Combine(Root(), "examples");

    public static TheoryData<string> Files() => [.. Directory.GetFiles(Examples, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Files))]
    public void Example_IsValidAndPlansEveryStage(string file)
    {
        var parsed = SpecParser.ParseFile(Path.Combine(Examples, file));

        Assert.True(parsed.IsValid, $"{file}: {string.Join("; ", parsed.Problems)}");
        var spec = parsed.Spec!;
        var aux = JobPlanner.Auxiliary(spec, "p", "init.safetensors");
        var members = JobPlanner.Members(spec, "p", 1, "init.safetensors", aux.ToDictionary(j => j.Slot["init/aux-".Length..], j => j.Slot));
        Assert.Equal(spec.Members.Count, members.Count);
        Assert.Equal(JobPlanner.Splits(spec).Count, JobPlanner.Evaluation(spec, "p", 1, ["a", "b", "c"]).Splits.Count);
        Assert.Equal(spec.Data.EvalSplit, JobPlanner.Evaluation(spec, "p", 1, ["a", "b", "c"]).Splits[0].Name);
    }

    [Fact]
    public void Examples_CoverEveryRecipe()
    {
        var recipes = Directory.GetFiles(Examples, "*.json").Select(f => SpecParser.ParseFile(f).Spec?.Recipe).OfType<string>().ToHashSet();

        Assert.Equal(Recipes.All.Order(), recipes.Order());
    }

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Pipeline.sln not found above the test's folder");
    }
}
