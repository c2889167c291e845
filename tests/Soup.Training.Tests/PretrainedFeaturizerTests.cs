using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class PretrainedFeaturizerTests
{
    [Fact]
    public void Load_CheckpointWithOtherClassCount_CopiesFeaturizerAndKeepsHead()
    {
        using var imagenet = ModelFactory.Create("resnet18", new ModelShape(3, 32, 32, 1000));
        ModelTensors.PerturbNorms(imagenet, seed: 1);
        var pretrained = TorchCheckpoint.ToTensorData(imagenet);
        using var model = ModelFactory.Create("resnet18", new ModelShape(3, 32, 32, 5));
        var before = TorchCheckpoint.ToTensorData(model).ToDictionary(t => t.Name);

        var skipped = PretrainedFeaturizer.Load(model, pretrained, "imagenet.safetensors");

        var after = TorchCheckpoint.ToTensorData(model).ToDictionary(t => t.Name);
        Assert.Equal(["fc.weight", "fc.bias"], skipped);
        Assert.All(pretrained.Where(t => !t.Name.StartsWith("fc.", StringComparison.Ordinal)),
            t => Assert.True(t.Data.Span.SequenceEqual(after[t.Name].Data.Span), t.Name));
        Assert.True(before["fc.weight"].Data.Span.SequenceEqual(after["fc.weight"].Data.Span));
        Assert.True(before["fc.bias"].Data.Span.SequenceEqual(after["fc.bias"].Data.Span));
    }

    [Fact]
    public void Load_CheckpointWithoutHead_LoadsFeaturizer()
    {
        using var source = ModelFactory.Create("domainbed-mnist", ModelShape.Mnist);
        var featurizer = TorchCheckpoint.ToTensorData(source).Where(t => !t.Name.StartsWith("classifier.", StringComparison.Ordinal)).ToList();
        using var model = ModelFactory.Create("domainbed-mnist", ModelShape.Mnist with { Classes = 3 });

        var skipped = PretrainedFeaturizer.Load(model, featurizer, "featurizer.safetensors");

        Assert.Empty(skipped);
        var loaded = TorchCheckpoint.ToTensorData(model).Single(t => t.Name == "featurizer.conv4.weight");
        Assert.True(featurizer.Single(t => t.Name == "featurizer.conv4.weight").Data.Span.SequenceEqual(loaded.Data.Span));
    }

    [Fact]
    public void Load_FeaturizerShapeDiffers_ThrowsNamingTensorAndBothShapesAndChangesNothing()
    {
        using var rgb = ModelFactory.Create("domainbed-mnist", new ModelShape(3, 28, 28, 10));
        using var model = ModelFactory.Create("domainbed-mnist", ModelShape.Mnist);
        var before = TorchCheckpoint.ToTensorData(model);

        var error = Assert.Throws<InvalidDataException>(() => PretrainedFeaturizer.Load(model, TorchCheckpoint.ToTensorData(rgb), "rgb.safetensors"));

        Assert.Contains("rgb.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("'featurizer.conv1.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("[64, 3, 3, 3]", error.Message, StringComparison.Ordinal);
        Assert.Contains("[64, 1, 3, 3]", error.Message, StringComparison.Ordinal);
        var after = TorchCheckpoint.ToTensorData(model);
        Assert.All(before.Zip(after), pair => Assert.True(pair.First.Data.Span.SequenceEqual(pair.Second.Data.Span), pair.First.Name));
    }

    [Fact]
    public void Load_FeaturizerTensorMissing_ThrowsNamingIt()
    {
        using var model = ModelFactory.Create("resnet18", new ModelShape(3, 32, 32, 5));
        var tensors = TorchCheckpoint.ToTensorData(model).Where(t => t.Name != "layer3.0.downsample.1.running_var").ToList();

        var error = Assert.Throws<InvalidDataException>(() => PretrainedFeaturizer.Load(model, tensors, "ckpt"));

        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("'layer3.0.downsample.1.running_var'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ModelWithoutHead_Throws()
    {
        using var plain = TorchSharp.torch.nn.Linear(2, 2);

        Assert.Throws<ArgumentException>(() => PretrainedFeaturizer.Load(plain, [], "ckpt"));
    }

    [Fact]
    public void Load_UnexpectedFeaturizerTensor_ThrowsNamingIt()
    {
        using var model = ModelFactory.Create("domainbed-mnist", ModelShape.Mnist);
        var tensors = TorchCheckpoint.ToTensorData(model)
            .Append(new TensorData("network.0.conv1.weight", SafetensorsDtype.F32, [1], new byte[4]))
            .ToList();

        var error = Assert.Throws<InvalidDataException>(() => PretrainedFeaturizer.Load(model, tensors, "erm.pkl"));

        Assert.Contains("unexpected", error.Message, StringComparison.Ordinal);
        Assert.Contains("'network.0.conv1.weight'", error.Message, StringComparison.Ordinal);
    }
}
