using System.Globalization;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>Our GPT-2 against a forward pass written in the test from the architecture, run by Debian's PyTorch.</summary>
[Collection(TorchCollection.Name)]
public sealed class Gpt2PyTorchParityTests
{
    private const double Tolerance = 1e-5;

    [Fact]
    public void Logits_TinySize_AgreeWithTheReferenceWithin1e5()
    {
        using var model = Gpt2Models.LanguageModel(Gpt2Config.Tiny, seed: 21);
        using var ids = Gpt2Models.Ids(2, 40, seed: 22);

        var (logits, _) = Reference(model, Gpt2Config.Tiny, ids, lengths: [40, 40]);

        using var ours = model.forward(ids);
        var difference = ModelTensors.MaxDifference(logits, ModelTensors.Floats(ours));
        Assert.True(difference <= Tolerance, $"largest logit difference {difference:E2}");
    }

    [Fact]
    public void Rewards_RightPadded_AgreeWithTheReferenceAtTheLastRealToken()
    {
        using var model = Gpt2Models.RewardModel(Gpt2Models.Small, seed: 23);
        using var ids = Gpt2Models.Ids(3, 16, seed: 24);
        long[] lengths = [16, 9, 1];

        var (_, rewards) = Reference(model, Gpt2Models.Small, ids, lengths);

        using var ours = model.Score(ids, tensor(lengths));
        var difference = ModelTensors.MaxDifference(rewards!, ModelTensors.Floats(ours));
        Assert.True(difference <= Tolerance, $"largest reward difference {difference:E2}");
    }

    private static (float[] Logits, float[]? Rewards) Reference(nn.Module model, Gpt2Config config, Tensor ids, long[] lengths)
    {
        using var reference = new PyTorchReference(Gpt2ReferenceScript.Text);
        var weights = reference.File("weights.safetensors");
        var input = reference.File("input.safetensors");
        var output = reference.File("output.safetensors");
        PyTorchReference.WriteSafetensors(weights, TorchCheckpoint.ToTensorData(model));
        PyTorchReference.WriteSafetensors(input,
        [
            TorchCheckpoint.ToTensorData("ids", ids),
            TorchCheckpoint.ToTensorData("lengths", tensor(lengths)),
        ]);

        reference.Run(
            "forward", config.Layers.ToString(CultureInfo.InvariantCulture), config.Heads.ToString(CultureInfo.InvariantCulture),
            config.LayerNormEpsilon.ToString("R", CultureInfo.InvariantCulture), weights, input, output);

        var content = Safetensors.Read(File.ReadAllBytes(output), output);
        float[] Read(string name) => ToFloats(Assert.Single(content.Tensors, t => t.Name == name));
        var rewards = content.Tensors.Any(t => t.Name == "rewards") ? Read("rewards") : null;
        return (Read("logits"), rewards);
    }

    private static float[] ToFloats(TensorData data)
    {
        Assert.Equal(SafetensorsDtype.F64, data.Dtype);
        return [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(data.Data.Span).ToArray().Select(d => (float)d)];
    }
}
