using System.Runtime.InteropServices;
using Soup.Cli.Commands;
using Soup.Merging;
using Soup.Merging.Checkpoints;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// <c>pipeline merge --config</c>: mergekit's YAML configs read as mergekit reads them (method, base, per-model and global
/// parameters, dtype), what is not supported refused naming its path, and a real merge from a config that equals the
/// same merge from flags.
/// </summary>
public sealed class MergekitConfigTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("soup-mergekit-");

    [Fact]
    public void Ties_PerModelWeightAndDensity_GlobalNormalizeAndInt8MaskNoted()
    {
        var plan = MergekitConfig.Parse("""
            merge_method: ties
            base_model: base.safetensors
            models:
              - model: base.safetensors
              - model: a.safetensors
                parameters: { weight: 0.6, density: 0.5 }
              - model: blob:checkpoints/b.safetensors
                parameters:
                  weight: 0.4
                  density: 0.7
            parameters:
              normalize: true
              int8_mask: true
              lambda: 0.9
            dtype: bfloat16
            """);

        Assert.Equal(["a.safetensors", "blob:checkpoints/b.safetensors"], plan.Members); // the base is not a task vector
        Assert.Equal("base.safetensors", plan.Base);
        Assert.Equal("ties", plan.Parameters.Method);
        Assert.Equal([0.6, 0.4], plan.Parameters.Weights);
        Assert.Equal([0.5, 0.7], plan.Parameters.Densities);
        Assert.True(plan.Parameters.Normalize);
        Assert.Equal(0.9, plan.Parameters.Lambda);
        Assert.Equal("BF16", plan.OutputDtype);
        Assert.Contains(plan.Notes, n => n.StartsWith("parameters.int8_mask: ignored", StringComparison.Ordinal));
    }

    [Fact]
    public void GlobalParameters_ApplyToEveryModel_AModelsOwnWins()
    {
        var plan = MergekitConfig.Parse("""
            merge_method: dare_ties
            base_model: base
            parameters: { weight: 0.5, density: 0.4, rescale: false }
            models:
              - model: a
              - model: b
                parameters: { weight: 1.5 }
            out_dtype: torch.float16
            """);

        Assert.Equal([0.5, 1.5], plan.Parameters.Weights);
        Assert.Equal(0.4, plan.Parameters.Density);
        Assert.Null(plan.Parameters.Densities);
        Assert.Equal(MergeRescales.None, plan.Parameters.Rescale);
        Assert.Null(plan.Parameters.Normalize); // mergekit's default for dare_ties (off) applies
        Assert.Equal("F16", plan.OutputDtype);
    }

    [Fact]
    public void Slerp_TheBaseIsOneEndpoint()
    {
        var plan = MergekitConfig.Parse("""
            merge_method: slerp
            base_model: a
            models: [{ model: a }, { model: b }]
            parameters: { t: 0.3 }
            """);

        Assert.Equal(["b"], plan.Members);
        Assert.Equal("a", plan.Base);
        Assert.Equal(0.3, plan.Parameters.T);
    }

    [Theory]
    [InlineData("merge_method: della\nmodels: [{ model: a }]", "merge_method", "mergekit's 'della' is not implemented here")]
    [InlineData("merge_method: frankenmerge\nmodels: [{ model: a }]", "merge_method", "unknown merge method 'frankenmerge'")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: 1 } }]\nfoo: 1", "foo", "unknown key")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: 1 } }, { model: a, parameters: { weight: 1 } }]", "models[1].model", "'a' is listed twice (also models[0])")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: heavy } }]", "models[0].parameters.weight", "'heavy' is not a number")]
    [InlineData("merge_method: ties\nbase_model: z\nmodels: [{ model: a, parameters: { weight: 1, density: 1.5 } }]", "models[0].parameters.density", "density must be in (0, 1], got 1.5")]
    [InlineData("merge_method: ties\nbase_model: z\nmodels: [{ model: a, parameters: { weight: 1, density: 0 } }]", "models[0].parameters.density", "density must be in (0, 1], got 0")]
    [InlineData("merge_method: linear\nmodels: [{ model: a }]", "models[0].parameters.weight", "linear needs a weight for every model")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: [0, 0.5, 1] } }]", "models[0].parameters.weight", "gradient lists and per-tensor filter conditionals are not supported yet")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: [{ filter: mlp, value: 0.5 }, { value: 1 }] } }]", "models[0].parameters.weight", "not supported yet")]
    [InlineData("merge_method: linear\nslices: []", "slices", "not supported")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: 1 } }]\ntokenizer_source: union", "tokenizer_source", "not supported")]
    [InlineData("merge_method: slerp\nbase_model: a\nmodels: [{ model: a }, { model: b }]", "parameters.t", "slerp needs t")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: 1, gamma: 0.01 } }]", "models[0].parameters.gamma", "breadcrumbs/della")]
    [InlineData("merge_method: linear\nmodels: [{ model: a, parameters: { weight: 1 } }\n", "line", "not valid YAML")]
    [InlineData("merge_method: nuslerp\nmodels: [{ model: a, parameters: { weight: 1 } }, { model: b, parameters: { weight: 1 } }]\nparameters: { nuslerp_row_wise: true }", "parameters.nuslerp_row_wise", "only nuslerp of whole flattened tensors")]
    public void BadConfig_NamesThePathAndTheProblem(string yaml, string path, string message)
    {
        var error = Assert.Throws<MergekitConfigException>(() => MergekitConfig.Parse(yaml));

        Assert.StartsWith(path, error.Path, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_MergesLikeTheSameFlags_ExitTwoAndNothingWrittenOnABadOne()
    {
        var ct = TestContext.Current.CancellationToken;
        var baseFile = Write("base.safetensors", 0);
        var a = Write("a.safetensors", 1);
        var b = Write("b.safetensors", 2);
        var config = Path.Combine(_folder.FullName, "ties.yml");
        await File.WriteAllTextAsync(config, $"""
            merge_method: ties
            base_model: {baseFile}
            models:
              - model: {a}
                parameters: {"{"} weight: 0.7, density: 0.5 {"}"}
              - model: {b}
                parameters: {"{"} weight: 0.3, density: 0.5 {"}"}
            """, ct);
        var fromConfig = Path.Combine(_folder.FullName, "from-config.safetensors");
        var fromFlags = Path.Combine(_folder.FullName, "from-flags.safetensors");

        var (code, _, stderr) = await CliRun.RunAsync(["merge", "--config", config, "-o", fromConfig]);
        var (flagsCode, _, flagsError) = await CliRun.RunAsync(["merge", a, b, "--base", baseFile, "-m", "ties", "-w", "0.7,0.3", "--density", "0.5", "-o", fromFlags]);

        Assert.True(code == 0, stderr);
        Assert.True(flagsCode == 0, flagsError);
        Assert.Equal(Tensor(fromFlags), Tensor(fromConfig));
        Assert.NotEqual(Tensor(baseFile), Tensor(fromConfig));

        await File.WriteAllTextAsync(config, "merge_method: ties\nmodels: [{ model: x, parameters: { weight: 1, density: 2 } }]\nbase_model: y\n", ct);
        var bad = Path.Combine(_folder.FullName, "bad.safetensors");
        var (badCode, _, badError) = await CliRun.RunAsync(["merge", "--config", config, "-o", bad]);
        Assert.Equal(2, badCode);
        Assert.Contains("models[0].parameters.density: density must be in (0, 1], got 2", badError, StringComparison.Ordinal);
        Assert.False(File.Exists(bad));

        var (mixedCode, _, mixedError) = await CliRun.RunAsync(["merge", "--config", config, "-m", "linear", "-o", bad]);
        Assert.Equal(2, mixedCode);
        Assert.Contains("--method with --config", mixedError, StringComparison.Ordinal);
    }

    private string Write(string name, int scale)
    {
        var path = Path.Combine(_folder.FullName, name);
        var random = new Random(scale);
        var values = Enumerable.Range(0, 37).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        using var file = File.Create(path);
        Safetensors.Write(file, [new TensorData("layer.weight", SafetensorsDtype.F32, [37], MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        return path;
    }

    private static float[] Tensor(string path) =>
        MemoryMarshal.Cast<byte, float>(Safetensors.Read(File.ReadAllBytes(path), path).Tensors.Single().Data.Span).ToArray();

    public void Dispose() => _folder.Delete(recursive: true);
}
