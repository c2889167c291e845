using Soup.Merging.Checkpoints;
using static TorchSharp.torch;
using Soup.Training.Checkpoints;
using Soup.Training.Models;

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
    public void KnownModels_AreTheModelsSpecsMayName()
    {
        Assert.Equal(ModelFactory.KnownModels, Soup.Core.Specs.SpecLimits.ImageModels);
        Assert.Equal(Gpt2Config.Named.Select(c => c.Name), Soup.Core.Specs.SpecLimits.TextModels);
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
        Assert.All(["cnn-small", "domainbed-mnist", "resnet18", "resnet50"], known => Assert.Contains(known, error.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("cnn-small", 3, 32, 32, 10)]
    [InlineData("cnn-small", 1, 28, 28, 0)]
    [InlineData("domainbed-mnist", 1, 7, 28, 10)]
    [InlineData("resnet18", 1, 64, 64, 10)]
    [InlineData("resnet50", 3, 16, 16, 10)]
    public void Create_ShapeTheModelCannotTake_ThrowsNamingModelAndBothShapes(string name, int channels, int height, int width, int classes)
    {
        var shape = new ModelShape(channels, height, width, classes);

        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Create(name, shape));

        Assert.Equal("shape", error.ParamName);
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(shape.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("takes ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cnn-small", 1, 28, 28, 10)]
    [InlineData("domainbed-mnist", 1, 28, 28, 10)]
    [InlineData("domainbed-mnist", 3, 8, 12, 4)]
    [InlineData("resnet18", 3, 32, 32, 7)]
    [InlineData("resnet50", 3, 40, 32, 7)]
    public void Forward_EachModel_GivesOneLogitPerClass(string name, int channels, int height, int width, int classes)
    {
        using var model = ModelFactory.Create(name, new ModelShape(channels, height, width, classes));
        using var scope = NewDisposeScope();

        var logits = model.forward(randn(2, channels, height, width));

        Assert.Equal(new long[] { 2, classes }, logits.shape);
    }

    [Theory]
    [InlineData("cnn-small", "fc.", 800)]
    [InlineData("domainbed-mnist", "classifier.", 128)]
    [InlineData("resnet18", "fc.", 512)]
    [InlineData("resnet50", "fc.", 2048)]
    public void HeadPrefix_EachModel_SelectsExactlyTheClassifierWeightAndBias(string name, string prefix, long features)
    {
        var shape = name == "resnet18" || name == "resnet50" ? new ModelShape(3, 32, 32, 6) : ModelShape.Mnist with { Classes = 6 };
        using var model = ModelFactory.Create(name, shape);

        var head = model.state_dict().Where(p => p.Key.StartsWith(ModelFactory.HeadPrefix(model), StringComparison.Ordinal)).ToList();

        Assert.Equal(prefix, ModelFactory.HeadPrefix(model));
        Assert.Equal([prefix + "weight", prefix + "bias"], head.Select(p => p.Key));
        Assert.Equal(new[] { 6, features }, head[0].Value.shape);
        Assert.Equal(new long[] { 6 }, head[1].Value.shape);
    }

    [Theory]
    [InlineData("cnn-small")]
    [InlineData("domainbed-mnist")]
    [InlineData("resnet18")]
    public void Forward_TrainingWithDropout_DrawsMasksFromTheGivenGenerator(string name)
    {
        var shape = name == "resnet18" ? new ModelShape(3, 32, 32, 3) : ModelShape.Mnist with { Classes = 3 };
        using var firstGenerator = new Generator(5);
        using var secondGenerator = new Generator(5);
        using var first = ModelFactory.CreateSeeded(name, shape, seed: 1, dropout: 0.5, dropoutGenerator: firstGenerator);
        using var second = ModelFactory.CreateSeeded(name, shape, seed: 1, dropout: 0.5, dropoutGenerator: secondGenerator);
        using var scope = NewDisposeScope();
        var input = randn(4, shape.Channels, shape.Height, shape.Width);

        first.train();
        second.train();
        var firstMask = first.forward(input);
        var secondMask = first.forward(input);
        var sameSeedMask = second.forward(input);
        first.eval();

        Assert.Single(first.modules().OfType<SeededDropout>());
        Assert.True(ModelTensors.Identical(firstMask, sameSeedMask));
        Assert.False(ModelTensors.Identical(firstMask, secondMask));
        Assert.True(ModelTensors.Identical(first.forward(input), first.forward(input)));
    }

    [Theory]
    [InlineData("domainbed-mnist", 1, 28, 28)]
    [InlineData("resnet18", 3, 32, 32)]
    [InlineData("resnet50", 3, 32, 32)]
    public void Create_EachModel_InitialisesNormLayersLikePyTorch(string name, int channels, int height, int width)
    {
        using var model = ModelFactory.Create(name, new ModelShape(channels, height, width, 3));
        using var scope = NewDisposeScope();
        var norms = model.state_dict().Where(p => p.Value.dim() <= 1 && !p.Key.StartsWith(ModelFactory.HeadPrefix(model), StringComparison.Ordinal)
            && !p.Key.Contains("conv", StringComparison.Ordinal)).ToList();

        var logits = model.forward(randn(2, channels, height, width));

        Assert.NotEmpty(norms);
        Assert.All(norms, p => Assert.True(p.Value.eq(Expected(p.Key)).all().item<bool>(), p.Key));
        Assert.True(logits.isfinite().all().item<bool>());

        static double Expected(string entry) => entry.EndsWith(".weight", StringComparison.Ordinal) || entry.EndsWith(".running_var", StringComparison.Ordinal) ? 1 : 0;
    }

    [Fact]
    public void ToTensorData_ResNet18_HasSafetensorsDtypesForEveryEntry()
    {
        using var model = ModelFactory.Create("resnet18", new ModelShape(3, 32, 32, 2));

        var tensors = TorchCheckpoint.ToTensorData(model);

        Assert.Equal(20, tensors.Count(t => t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal) && t.Dtype == SafetensorsDtype.I64));
        Assert.All(tensors.Where(t => !t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)), t => Assert.Equal(SafetensorsDtype.F32, t.Dtype));
    }

    [Fact]
    public void TorchSetup_UsesOneThreadPerProcessor()
    {
        TorchSetup.Initialize();

        Assert.Equal(Environment.ProcessorCount, TorchSetup.ThreadCount);
    }
}
