using Soup.Merging;

namespace Soup.Core.Tests.Merging.Methods;

public sealed class MergeMethodFactoryTests
{
    public static TheoryData<string, bool, bool> Methods => new()
    {
        { "linear", true, false },
        { "task_arithmetic", true, true },
        { "ties", false, true },
        { "dare_linear", true, true },
        { "dare_ties", true, true },
        { "slerp", false, false },
        { "nuslerp", false, false },
        { "model_stock", false, true },
        { "liti", true, true },
        { "ema", true, true },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Create_EachName_BuildsThatMethod(string name, bool elementwise, bool requiresBase)
    {
        var method = MergeMethodFactory.Create(new MergeParameters { Method = name });

        Assert.Equal(name, method.Name);
        Assert.Equal(elementwise, method.IsElementwise);
        Assert.Equal(requiresBase, MergeMethodFactory.RequiresBase(name));
        Assert.Contains(name, MergeMethodFactory.Names);
    }

    [Fact]
    public void Names_ListsEveryMethod()
    {
        Assert.Equal(Methods.Select(row => row.Data.Item1).Order(StringComparer.Ordinal), MergeMethodFactory.Names.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("task_arithmetic")]
    [InlineData("ties")]
    [InlineData("dare_linear")]
    [InlineData("dare_ties")]
    [InlineData("model_stock")]
    [InlineData("liti")]
    [InlineData("ema")]
    public void Validate_MethodNeedingBase_WithoutBase_Throws(string name)
    {
        var method = MergeMethodFactory.Create(new MergeParameters { Method = name });
        var members = name == "ema" ? 1 : 2;

        var error = Assert.Throws<ArgumentException>(() => method.Validate(members, hasBase: false));

        Assert.Equal($"{name} needs a base model (the init the members were fine-tuned from), got none", error.Message);
        method.Validate(members, hasBase: true);
    }

    [Fact]
    public void Create_UnknownMethod_ThrowsListingKnownNames()
    {
        var error = Assert.Throws<ArgumentException>(() => MergeMethodFactory.Create(new MergeParameters { Method = "fisher" }));

        Assert.Equal(
            "unknown merge method 'fisher'; known: linear, task_arithmetic, ties, dare_linear, dare_ties, slerp, nuslerp, model_stock, liti, ema",
            error.Message);
        Assert.Throws<ArgumentException>(() => MergeMethodFactory.RequiresBase("fisher"));
    }

    [Theory]
    [InlineData(0.0, "density must be in (0, 1], got 0")]
    [InlineData(-0.5, "density must be in (0, 1], got -0.5")]
    [InlineData(1.5, "density must be in (0, 1], got 1.5")]
    [InlineData(double.NaN, "density must be in (0, 1], got NaN")]
    public void Create_DensityOutOfRange_Throws(double density, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => MergeMethodFactory.Create(new MergeParameters { Method = "ties", Density = density }));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Create_OtherParametersOutOfRange_Throw()
    {
        Assert.Equal("t must be in [0, 1], got 2", Message(new() { Method = "slerp", T = 2 }));
        Assert.Equal("eta must be in [0, 1], got -0.1", Message(new() { Method = "liti", Eta = -0.1 }));
        Assert.Equal("lambda must be between -100 and 100, got Infinity", Message(new() { Method = "task_arithmetic", Lambda = double.PositiveInfinity }));
        Assert.Equal("lambda must be between -100 and 100, got 1E+308", Message(new() { Method = "ties", Lambda = 1e308 }));
        Assert.Equal("lambda must be between -100 and 100, got -100.5", Message(new() { Method = "dare_linear", Lambda = -100.5 }));
        Assert.Equal("weights must be between -1000 and 1000, got NaN at index 1", Message(new() { Method = "linear", Weights = [1, double.NaN] }));
        Assert.Equal("weights must be between -1000 and 1000, got 1E+308 at index 0", Message(new() { Method = "linear", Weights = [1e308, 1] }));
        Assert.NotNull(MergeMethodFactory.Create(new() { Method = "task_arithmetic", Lambda = -100, Weights = [1000, -1000] }));
        Assert.Equal("slerp takes no weights, got 2", Message(new() { Method = "slerp", Weights = [0.5, 0.5] }));
        Assert.Equal("density must be in (0, 1], got 0", Message(new() { Method = "linear", Density = 0 }));
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("task_arithmetic")]
    [InlineData("ties")]
    [InlineData("dare_linear")]
    [InlineData("dare_ties")]
    [InlineData("liti")]
    public void Validate_WeightCountMismatch_Throws(string name)
    {
        var method = MergeMethodFactory.Create(new MergeParameters { Method = name, Weights = [0.5, 0.5] });

        var error = Assert.Throws<ArgumentException>(() => method.Validate(3, hasBase: true));

        Assert.Equal($"{name} got 2 weight(s) for 3 member(s)", error.Message);
    }

    [Fact]
    public void Create_CopiesTheWeights()
    {
        var weights = new List<double> { 1, 1 };
        var method = MergeMethodFactory.Create(new MergeParameters { Method = "task_arithmetic", Weights = weights });
        weights[1] = 100;

        Assert.Equal([3.5f], MergeTestData.Run(method, [[2f], [2f]], [0.5f]));
    }

    public static TheoryData<MergeParameters, int> Averaging => new()
    {
        { new MergeParameters { Method = "linear" }, 3 },
        { new MergeParameters { Method = "ties", Density = 1 }, 3 },
        { new MergeParameters { Method = "dare_ties", Density = 1, Normalize = true }, 3 },
        { new MergeParameters { Method = "task_arithmetic", Normalize = true }, 3 },
        { new MergeParameters { Method = "dare_linear", Normalize = true }, 2 },
        { new MergeParameters { Method = "nuslerp", T = 0.4 }, 2 },
        { new MergeParameters { Method = "nuslerp", Weights = [1, 2] }, 2 },
        { new MergeParameters { Method = "model_stock" }, 4 },
        { new MergeParameters { Method = "liti", Eta = 1 }, 3 },
        { new MergeParameters { Method = "ema", Eta = 1 }, 1 },
        { new MergeParameters { Method = "task_arithmetic", Weights = [0.5, 0.5] }, 2 },
    };

    [Theory]
    [MemberData(nameof(Averaging))]
    public void Merge_IdenticalModels_ReturnsThem(MergeParameters parameters, int members)
    {
        var random = new Random(members);
        var baseValues = MergeTestData.Random(random, 128);
        var model = MergeTestData.Random(random, 128);
        var method = MergeMethodFactory.Create(parameters);
        method.Validate(members, hasBase: true);

        var actual = MergeTestData.Run(method, Enumerable.Repeat(model, members).ToArray(), baseValues);

        MergeTestData.AssertClose(model, actual, 1e-6);
    }

    private static string Message(MergeParameters parameters) =>
        Assert.Throws<ArgumentException>(() => MergeMethodFactory.Create(parameters)).Message;
}
