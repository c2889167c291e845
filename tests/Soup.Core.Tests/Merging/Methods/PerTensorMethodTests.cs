using Soup.Merging;

namespace Soup.Core.Tests.Merging.Methods;

/// <summary>Parameters that vary by tensor (mergekit's gradients and filters): layer positions, evaluation, and the merge each tensor gets.</summary>
public sealed class PerTensorMethodTests
{
    [Theory]
    [InlineData("model.layers.0.mlp.w", 0.0)]
    [InlineData("model.layers.2.mlp.w", 0.5)]
    [InlineData("model.layers.4.self_attn.w", 1.0)]
    [InlineData("model.embed_tokens.weight", 0.0)]
    [InlineData("lm_head.weight", 0.0)]
    public void LayerPosition_IsIndexOverLayersMinusOne_OutsideLayersZero(string tensor, double t)
    {
        string[] names = ["model.embed_tokens.weight", "model.layers.0.mlp.w", "model.layers.4.mlp.w", "lm_head.weight"];

        Assert.Equal(5, LayerPositions.Count(names));
        Assert.Equal(t, LayerPositions.Of(tensor, 5));
    }

    [Fact]
    public void ParametersOf_EvaluatesEachMembersGradient_AndFallsBackToTheGlobalSetting()
    {
        var method = new PerTensorMethod(
            new MergeParameters { Method = "ties" },
            new TensorSettings(
                [new ParameterSetting { Gradient = [1, 0] }, null],
                [null, new ParameterSetting { Conditionals = [("mlp", new ParameterSetting { Constant = 0.2 })] }],
                Weight: new ParameterSetting { Constant = 0.5 },
                Density: new ParameterSetting { Constant = 0.9 }));
        method.Prepare(["model.layers.0.mlp.w", "model.layers.1.mlp.w", "model.layers.2.attn.w"]);
        method.Validate(2, hasBase: true);

        var middle = method.ParametersOf("model.layers.1.mlp.w");
        var last = method.ParametersOf("model.layers.2.attn.w");

        Assert.Equal([0.5, 0.5], middle.Weights); // member 0 halfway down its gradient; member 1 the global 0.5
        Assert.Equal([0.9, 0.2], middle.Densities); // member 1's filter matches mlp
        Assert.Equal([0.0, 0.5], last.Weights);
        Assert.Equal([0.9, 0.9], last.Densities); // no filter matched: the global density
        Assert.False(method.IsElementwise);
    }

    [Fact]
    public void ParametersOf_AWeightNoFilterGives_FailsNamingTheTensor()
    {
        var method = new PerTensorMethod(
            new MergeParameters { Method = "linear" },
            new TensorSettings([new ParameterSetting { Conditionals = [("mlp", new ParameterSetting { Constant = 1 })] }], [null]));
        method.Prepare(["a.mlp.w", "a.attn.w"]);

        var error = Assert.Throws<ArgumentException>(() => method.ParametersOf("a.attn.w"));

        Assert.Contains("tensor 'a.attn.w': no weight for member 0", error.Message, StringComparison.Ordinal);
    }
}
