using static TorchSharp.torch;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class ModelFactoryTests
{
    [Fact]
    public void Create_CnnSmall_HasPyTorchStateDictNamesAndShapes()
    {
        using var model = ModelFactory.Create("cnn-small");

        var shapes = model.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);

        Assert.Equal(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"], shapes.Keys);
        Assert.Equal(new long[] { 16, 1, 3, 3 }, shapes["conv1.weight"]);
        Assert.Equal(new long[] { 10, 800 }, shapes["fc.weight"]);
    }

    [Fact]
    public void Forward_Batch_GivesTenLogitsEach()
    {
        using var model = ModelFactory.Create("cnn-small");
        using var scope = NewDisposeScope();

        var logits = model.forward(zeros(4, 1, 28, 28));

        Assert.Equal(new long[] { 4, 10 }, logits.shape);
    }

    [Fact]
    public void Create_UnknownModel_ThrowsListingKnownModels()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Create("resnet-9000"));

        Assert.Contains("resnet-9000", error.Message, StringComparison.Ordinal);
        Assert.Contains("cnn-small", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TorchSetup_UsesOneThreadPerProcessor()
    {
        TorchSetup.Initialize();

        Assert.Equal(Environment.ProcessorCount, TorchSetup.ThreadCount);
    }
}
