using static TorchSharp.torch;
using Soup.Training.Checkpoints;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>Checks the models against PyTorch/torchvision (Debian's python3-torch 1.13 and python3-torchvision 0.14).</summary>
[Collection(TorchCollection.Name)]
public sealed class PyTorchCompatibilityTests
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void StateDict_EachModel_MatchesPyTorchNamesShapesDtypesAndOrder()
    {
        (string Model, ModelShape Shape)[] models =
        [
            ("domainbed-mnist", ModelShape.Mnist),
            ("domainbed-mnist", new ModelShape(3, 32, 32, 7)),
            ("resnet18", new ModelShape(3, 64, 64, 5)),
            ("resnet50", new ModelShape(3, 64, 64, 5)),
        ];
        using var reference = new PyTorchReference();

        var expected = reference.StateDictEntries([.. models.Select(m => PyTorchReference.Spec(m.Model, m.Shape))]);

        foreach (var (name, shape) in models)
        {
            using var model = ModelFactory.Create(name, shape);
            var actual = TorchCheckpoint.ToTensorData(model)
                .Select(t => PyTorchReference.Entry(t.Name, t.Shape, t.Dtype.ToString()))
                .ToList();
            Assert.Equal(expected[PyTorchReference.Spec(name, shape)], actual);
        }
    }

    [Theory]
    [InlineData("domainbed-mnist", 1, 28, 28, 10)]
    [InlineData("resnet18", 3, 64, 64, 5)]
    public void Forward_TorchSharpWeightsLoadedInPyTorch_GivesSameLogits(string name, int channels, int height, int width, int classes)
    {
        var shape = new ModelShape(channels, height, width, classes);
        using var reference = new PyTorchReference();
        using var model = ModelFactory.CreateSeeded(name, shape, seed: 11, dropout: 0.5);
        ModelTensors.PerturbNorms(model, seed: 12);
        model.eval();
        using var input = ModelTensors.Random([2, channels, height, width], seed: 13);
        PyTorchReference.WriteSafetensors(reference.File("weights.safetensors"), TorchCheckpoint.ToTensorData(model));
        PyTorchReference.WriteSafetensors(reference.File("input.safetensors"), [ModelTensors.ToData("input", input)]);

        reference.Run("forward", PyTorchReference.Spec(name, shape),
            reference.File("weights.safetensors"), reference.File("input.safetensors"), reference.File("logits.safetensors"));

        var expected = PyTorchReference.ReadTensor(reference.File("logits.safetensors"), "logits");
        using var logits = model.forward(input);
        Assert.Equal(new long[] { 2, classes }, expected.Shape);
        AssertClose(ModelTensors.Floats(expected), ModelTensors.Floats(logits));
    }

    [Fact]
    public void Load_TorchvisionResNet18Weights_GivesSameLogits()
    {
        var shape = new ModelShape(3, 64, 64, 5);
        using var reference = new PyTorchReference();
        using var input = ModelTensors.Random([2, 3, 64, 64], seed: 21);
        PyTorchReference.WriteSafetensors(reference.File("input.safetensors"), [ModelTensors.ToData("input", input)]);
        reference.Run("export", PyTorchReference.Spec("resnet18", shape), "22",
            reference.File("input.safetensors"), reference.File("weights.safetensors"), reference.File("logits.safetensors"));
        using var model = ModelFactory.Create("resnet18", shape);
        var weights = Soup.Merging.Checkpoints.Safetensors.Read(File.ReadAllBytes(reference.File("weights.safetensors")), "torchvision");

        TorchCheckpoint.Load(model, weights.Tensors, "torchvision resnet18");
        model.eval();
        using var logits = model.forward(input);

        var expected = ModelTensors.Floats(PyTorchReference.ReadTensor(reference.File("logits.safetensors"), "logits"));
        AssertClose(expected, ModelTensors.Floats(logits));
        using var trackedSteps = model.state_dict()["layer4.1.bn2.num_batches_tracked"].clone();
        Assert.Equal(7, trackedSteps.item<long>());
    }

    private static void AssertClose(float[] pytorch, float[] torchSharp)
    {
        var difference = ModelTensors.MaxDifference(pytorch, torchSharp);
        Assert.True(difference <= Tolerance,
            $"Logits differ by up to {difference}: PyTorch {string.Join(", ", pytorch)} vs TorchSharp {string.Join(", ", torchSharp)}.");
    }
}
