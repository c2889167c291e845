using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class Gpt2ModelTests
{
    [Fact]
    public void SpecLimits_TextContexts_AreTheWorkersContexts()
    {
        foreach (var model in Soup.Core.Specs.SpecLimits.TextModels)
            Assert.Equal(Soup.Training.Text.LanguageModelling.Config(model).Context, Soup.Core.Specs.SpecLimits.TextContext(model));
        Assert.Null(Soup.Core.Specs.SpecLimits.TextContext("resnet18"));
    }

    [Fact]
    public void StateDict_LanguageModel_HasHuggingFaceNamesAndLayouts()
    {
        var c = Gpt2Models.Small;
        using var model = Gpt2Models.LanguageModel();

        var actual = TorchCheckpoint.ToTensorData(model).ToDictionary(t => t.Name, t => string.Join("×", t.Shape));

        // GPT2LMHeadModel's safetensors: Conv1D weights [in, out], the head tied to wte (not saved).
        var expected = new Dictionary<string, string>
        {
            ["transformer.wte.weight"] = $"{c.VocabularySize}×{c.Width}",
            ["transformer.wpe.weight"] = $"{c.Context}×{c.Width}",
            ["transformer.ln_f.weight"] = $"{c.Width}",
            ["transformer.ln_f.bias"] = $"{c.Width}",
        };
        for (var i = 0; i < c.Layers; i++)
        {
            var p = $"transformer.h.{i}.";
            expected[p + "ln_1.weight"] = expected[p + "ln_1.bias"] = expected[p + "ln_2.weight"] = expected[p + "ln_2.bias"] = $"{c.Width}";
            expected[p + "attn.c_attn.weight"] = $"{c.Width}×{3 * c.Width}";
            expected[p + "attn.c_attn.bias"] = $"{3 * c.Width}";
            expected[p + "attn.c_proj.weight"] = $"{c.Width}×{c.Width}";
            expected[p + "attn.c_proj.bias"] = $"{c.Width}";
            expected[p + "mlp.c_fc.weight"] = $"{c.Width}×{4 * c.Width}";
            expected[p + "mlp.c_fc.bias"] = $"{4 * c.Width}";
            expected[p + "mlp.c_proj.weight"] = $"{4 * c.Width}×{c.Width}";
            expected[p + "mlp.c_proj.bias"] = $"{c.Width}";
        }
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
    }

    [Fact]
    public void StateDict_RewardModel_AddsScoreWeightWithoutBias()
    {
        using var model = Gpt2Models.RewardModel();

        var names = TorchCheckpoint.ToTensorData(model).ToDictionary(t => t.Name, t => t.Shape);

        Assert.Equal([1L, Gpt2Models.Small.Width], names["score.weight"]);
        Assert.DoesNotContain("score.bias", names.Keys);
        Assert.All(names.Keys.Where(n => n != "score.weight"), n => Assert.StartsWith("transformer.", n, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("gpt2", 124_439_808L)] // Hugging Face's gpt2: model.num_parameters()
    [InlineData("distilgpt2", 81_912_576L)]
    [InlineData("gpt2-tiny", 7_242_624L)] // as its doc comment says
    public void Parameters_NamedSizes_CountAsHuggingFacesModels(string name, long expected)
    {
        using var model = new Gpt2LanguageModel(Gpt2Config.Find(name)!);

        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Initialize_DrawsAsGpt2_ResidualProjectionsScaledDown()
    {
        using var generator = new Generator(3);
        using var model = new Gpt2LanguageModel(Gpt2Config.Tiny, initGenerator: generator);
        var state = model.state_dict();

        double Std(string name) => state[name].std().item<float>();

        Assert.InRange(Std("transformer.wte.weight"), 0.019, 0.021);
        Assert.InRange(Std("transformer.h.0.mlp.c_fc.weight"), 0.019, 0.021);
        var scaled = 0.02 / Math.Sqrt(2 * Gpt2Config.Tiny.Layers);
        Assert.InRange(Std("transformer.h.0.mlp.c_proj.weight"), scaled * 0.95, scaled * 1.05);
        Assert.Equal(0, state["transformer.h.1.attn.c_attn.bias"].abs().max().item<float>());
        Assert.Equal(1, state["transformer.ln_f.weight"].min().item<float>());
    }

    [Fact]
    public void Logits_WithCache_EqualTheFullForward()
    {
        using var model = Gpt2Models.LanguageModel();
        using var ids = Gpt2Models.Ids(2, 9, seed: 5);
        using var full = model.forward(ids);

        using var cache = new Gpt2Cache(Gpt2Models.Small.Layers);
        using var first = model.Logits(ids.narrow(1, 0, 6), cache: cache);
        var steps = new List<Tensor> { first };
        for (var t = 6; t < 9; t++)
            steps.Add(model.Logits(ids.narrow(1, t, 1), cache: cache));
        using var incremental = cat(steps, 1);

        Assert.Equal(9, cache.Length);
        Assert.True(full.allclose(incremental, rtol: 0, atol: 1e-5), $"max difference {full.sub(incremental).abs().max().item<float>()}");
    }

    [Fact]
    public void Logits_LaterTokens_DoNotChangeEarlierPositions()
    {
        using var model = Gpt2Models.LanguageModel();
        using var ids = Gpt2Models.Ids(1, 10, seed: 6);
        using var changed = ids.clone();
        changed[0, 7] = tensor(42L);

        using var a = model.forward(ids).narrow(1, 0, 7);
        using var b = model.forward(changed).narrow(1, 0, 7);
        using var after = model.forward(ids).narrow(1, 7, 3);
        using var afterChanged = model.forward(changed).narrow(1, 7, 3);

        Assert.True(a.allclose(b, rtol: 0, atol: 1e-6));
        Assert.False(after.allclose(afterChanged, rtol: 0, atol: 1e-3)); // the causal mask is not everything-masked
    }

    [Fact]
    public void Forward_PastTheContext_NamesTheContext()
    {
        using var model = Gpt2Models.LanguageModel();
        using var ids = Gpt2Models.Ids(1, Gpt2Models.Small.Context + 1, seed: 1);

        var error = Assert.Throws<ArgumentException>(() => model.forward(ids));

        Assert.Contains($"{Gpt2Models.Small.Context + 1} positions exceed the context of gpt2-test ({Gpt2Models.Small.Context})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_TokenOutsideTheVocabulary_IsRefused()
    {
        using var model = Gpt2Models.LanguageModel();
        using var ids = tensor(new long[] { 1, Gpt2Config.Gpt2Vocabulary }, [1, 2]);

        var error = Assert.Throws<ArgumentException>(() => model.forward(ids));

        Assert.Contains("outside gpt2-test's vocabulary [0, 50257)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Score_PaddingAfterTheSequence_DoesNotChangeItsReward()
    {
        using var model = Gpt2Models.RewardModel();
        using var ids = Gpt2Models.Ids(1, 12, seed: 8);
        using var padded = ids.clone();
        padded.narrow(1, 7, 5).fill_(50256);
        using var lengths = tensor(new long[] { 7 });

        using var alone = model.forward(ids.narrow(1, 0, 7));
        using var fromPadded = model.Score(padded, lengths);
        using var fromOther = model.Score(ids, lengths);
        using var whole = model.forward(ids);

        Assert.Equal(alone.item<float>(), fromPadded.item<float>(), 5);
        Assert.Equal(alone.item<float>(), fromOther.item<float>(), 5);
        Assert.NotEqual(alone.item<float>(), whole.item<float>(), 3); // the last real token is what is read
    }

    [Fact]
    public void BradleyTerryLoss_IsMinusLogSigmoidOfTheMargin()
    {
        using var chosen = tensor(new[] { 2f, 0f, -1f });
        using var rejected = tensor(new[] { 0f, 0f, 1f });

        using var loss = Gpt2RewardModel.BradleyTerryLoss(chosen, rejected);

        // mean of log(1 + e^-2), log 2, log(1 + e^2)
        var expected = (Math.Log(1 + Math.Exp(-2)) + Math.Log(2) + Math.Log(1 + Math.Exp(2))) / 3;
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void Load_HuggingFaceRepositoryLayout_LoadsByNameAndGivesTheSameLogits()
    {
        using var source = Gpt2Models.LanguageModel(seed: 2);
        var c = Gpt2Models.Small;

        // The gpt2 repository's layout: no "transformer." prefix, the attention mask buffers, and (full model) lm_head.
        var hub = TorchCheckpoint.ToTensorData(source)
            .Select(t => t with { Name = t.Name["transformer.".Length..] })
            .Concat(Enumerable.Range(0, c.Layers).SelectMany(i => new[]
            {
                new TensorData($"h.{i}.attn.bias", SafetensorsDtype.F32, [1, 1, c.Context, c.Context], new byte[4 * c.Context * c.Context]),
                new TensorData($"h.{i}.attn.masked_bias", SafetensorsDtype.F32, [], new byte[4]),
            }))
            .Append(TorchCheckpoint.ToTensorData("lm_head.weight", source.Backbone.TokenEmbedding))
            .ToList();
        using var target = new Gpt2LanguageModel(c);
        target.eval();

        Gpt2Checkpoint.Load(target, hub, "hub");

        using var ids = Gpt2Models.Ids(1, 5, seed: 9);
        Assert.True(source.forward(ids).allclose(target.forward(ids), rtol: 0, atol: 0));
    }

    [Fact]
    public void Load_LanguageModelIntoRewardModel_TakesTheTransformerAndKeepsTheHead()
    {
        using var language = Gpt2Models.LanguageModel(seed: 3);
        using var reward = Gpt2Models.RewardModel(seed: 4);
        using var head = reward.state_dict()["score.weight"].clone();

        Gpt2Checkpoint.Load(reward, TorchCheckpoint.ToTensorData(language), "sft");

        var state = reward.state_dict();
        Assert.True(ModelTensors.Identical(state["score.weight"], head));
        Assert.True(ModelTensors.Identical(state["transformer.h.1.mlp.c_fc.weight"], language.state_dict()["transformer.h.1.mlp.c_fc.weight"]));
    }

    [Fact]
    public void Load_TensorOfAnotherShape_NamesTheTensorAndBothShapes()
    {
        using var wide = Gpt2Models.RewardModel(Gpt2Models.Small with { Width = 64 });
        using var model = Gpt2Models.RewardModel();

        var error = Assert.Throws<InvalidDataException>(() => Gpt2Checkpoint.Load(model, TorchCheckpoint.ToTensorData(wide), "rm.safetensors"));

        Assert.Contains("rm.safetensors: tensor 'transformer.wte.weight' has shape [50257, 64], the model expects [50257, 32]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RewardModelIntoLanguageModel_NamesTheUnexpectedHead()
    {
        using var reward = Gpt2Models.RewardModel();
        using var model = Gpt2Models.LanguageModel();

        var error = Assert.Throws<InvalidDataException>(() => Gpt2Checkpoint.Load(model, TorchCheckpoint.ToTensorData(reward), "rm"));

        Assert.Contains("unexpected tensor(s) 'score.weight'", error.Message, StringComparison.Ordinal);
    }
}
