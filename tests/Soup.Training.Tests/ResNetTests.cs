using TorchSharp.Modules;
using static TorchSharp.torch;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class ResNetTests
{
    private static readonly ModelShape Shape = new(3, 32, 32, 4);

    [Fact]
    public void Forward_TrainingMode_LeavesBatchNormStatisticsUnchanged()
    {
        using var model = ModelFactory.Create("resnet18", Shape);
        var before = model.state_dict()
            .Where(p => p.Key.Contains("running_", StringComparison.Ordinal) || p.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value.clone());

        model.train();
        using (var scope = NewDisposeScope())
            model.forward(randn(4, 3, 32, 32).mul_(3).add_(2));

        var after = model.state_dict();
        Assert.Equal(60, before.Count);
        Assert.All(before, p => Assert.True(ModelTensors.Identical(p.Value, after[p.Key]), p.Key));
        foreach (var tensor in before.Values)
            tensor.Dispose();
    }

    [Fact]
    public void Train_KeepsBatchNormsInEvalModeAndTheRestTraining()
    {
        using var model = ModelFactory.Create("resnet50", Shape, dropout: 0.1);

        model.train();

        Assert.True(model.training);
        Assert.All(model.modules().OfType<BatchNorm2d>(), norm => Assert.False(norm.training));
        Assert.True(Assert.Single(model.modules().OfType<SeededDropout>()).training);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Create_NewModel_TrainsWithBatchNormsAlreadyFrozen()
    {
        using var model = ModelFactory.Create("resnet18", Shape);

        Assert.True(model.training);
        Assert.All(model.modules().OfType<BatchNorm2d>(), norm => Assert.False(norm.training));
    }

    [Fact]
    public void Backward_TrainingMode_GivesBatchNormAffineWeightsGradients()
    {
        using var model = ModelFactory.Create("resnet18", Shape);
        using var scope = NewDisposeScope();
        model.train();

        model.forward(randn(2, 3, 32, 32)).sum().backward();

        Assert.NotNull(model.state_dict()["bn1.weight"].grad);
    }
}
