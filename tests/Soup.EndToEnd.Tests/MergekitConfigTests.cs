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
    [InlineData("merge_method: slerp\nbase_model: a\nmodels: [{ model: a }, { model: b }]\nparameters: { t: { filter: mlp, value: 0.5 } }", "parameters.t", "must be inside a list")]
    [InlineData("merge_method: slerp\nbase_model: a\nmodels: [{ model: a }, { model: b }]\nparameters: { t: [0.5, { filter: mlp, value: 1 }] }", "parameters.t", "not both")]
    [InlineData("merge_method: slerp\nbase_model: a\nmodels: [{ model: a }, { model: b }]\nparameters: { t: [0, 1.5] }", "parameters.t", "t must be in [0, 1], got 1.5")]
    [InlineData("merge_method: slerp\nbase_model: a\nmodels: [{ model: a }, { model: b }]\nparameters: { t: [{ filter: mlp, value: 0.5, weight: 2 }] }", "parameters.t[0].weight", "unknown key")]
    [InlineData("merge_method: ties\nbase_model: z\nmodels: [{ model: a, parameters: { weight: 1, density: [0.5, 1.2] } }]", "models[0].parameters.density", "density must be in (0, 1], got 1.2")]
    [InlineData("merge_method: ties\nbase_model: z\nmodels: [{ model: a, parameters: { weight: 1 } }]\nparameters: { normalize: [1, 0] }", "parameters.normalize", "takes one value here")]
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

    [Fact]
    public void GradientsAndFilters_BecomePerTensorSettings()
    {
        var plan = MergekitConfig.Parse("""
            merge_method: slerp
            base_model: a
            models: [{ model: a }, { model: b }]
            parameters:
              t:
                - filter: self_attn
                  value: [0, 0.5, 0.3, 0.7, 1]
                - filter: mlp
                  value: [1, 0.5, 0.7, 0.3, 0]
                - value: 0.5
            """);

        var t = Assert.IsType<ParameterSetting>(plan.Tensors?.T);
        Assert.Equal(0.4, t.Evaluate("model.layers.12.self_attn.q_proj.weight", 0.375)!.Value, 12); // s = 1.5: halfway from 0.5 to 0.3
        Assert.Equal(0.6, t.Evaluate("model.layers.12.mlp.up_proj.weight", 0.375)!.Value, 12);
        Assert.Equal(0.5, t.Evaluate("model.embed_tokens.weight", 0));
    }

    [Fact]
    public async Task SlerpWithFilteredGradient_EachTensorMergedAtItsOwnT()
    {
        // Layers 0..2: self_attn follows t = [0, 1] over the layers (0, 0.5, 1), everything else 0.5.
        var ct = TestContext.Current.CancellationToken;
        string[] names = ["model.embed_tokens.weight", "model.layers.0.self_attn.w", "model.layers.1.self_attn.w", "model.layers.2.self_attn.w", "model.layers.2.mlp.w"];
        var a = Write("a.safetensors", 1, names);
        var b = Write("b.safetensors", 2, names);
        var config = Path.Combine(_folder.FullName, "slerp.yml");
        await File.WriteAllTextAsync(config, $"""
            merge_method: slerp
            base_model: {a}
            models: [{"{"} model: {a} {"}"}, {"{"} model: {b} {"}"}]
            parameters:
              t:
                - filter: self_attn
                  value: [0, 1]
                - value: 0.5
            """, ct);
        var merged = Path.Combine(_folder.FullName, "merged.safetensors");
        var half = Path.Combine(_folder.FullName, "half.safetensors");
        var whole = Path.Combine(_folder.FullName, "whole.safetensors");

        var (code, _, error) = await CliRun.RunAsync(["merge", "--config", config, "-o", merged]);
        Assert.True(code == 0, error);
        Assert.Equal(0, (await CliRun.RunAsync(["merge", b, "--base", a, "-m", "slerp", "--t", "0.5", "-o", half])).Code);
        Assert.Equal(0, (await CliRun.RunAsync(["merge", b, "--base", a, "-m", "slerp", "--t", "1", "-o", whole])).Code);

        var (m, h, w, first) = (Tensors(merged), Tensors(half), Tensors(whole), Tensors(a));
        Assert.Equal(first["model.layers.0.self_attn.w"], m["model.layers.0.self_attn.w"]); // t = 0: the base
        Assert.Equal(h["model.layers.1.self_attn.w"], m["model.layers.1.self_attn.w"]);     // t = 0.5
        Assert.Equal(w["model.layers.2.self_attn.w"], m["model.layers.2.self_attn.w"]);     // t = 1: the other model
        Assert.Equal(h["model.layers.2.mlp.w"], m["model.layers.2.mlp.w"]);                 // no filter matched: 0.5
        Assert.Equal(h["model.embed_tokens.weight"], m["model.embed_tokens.weight"]);       // outside the layers
    }

    private string Write(string name, int scale, string[] names)
    {
        var path = Path.Combine(_folder.FullName, name);
        var random = new Random(scale);
        using var file = File.Create(path);
        Safetensors.Write(file, [.. names.Select(n => new TensorData(n, SafetensorsDtype.F32, [9], MemoryMarshal.AsBytes(Enumerable.Range(0, 9).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray().AsSpan()).ToArray()))]);
        return path;
    }

    private static Dictionary<string, string> Tensors(string path) =>
        Safetensors.Read(File.ReadAllBytes(path), path).Tensors.ToDictionary(t => t.Name, t => Convert.ToBase64String(t.Data.Span));

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
