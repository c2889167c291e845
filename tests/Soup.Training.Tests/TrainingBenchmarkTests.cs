using Soup.Training.FineTuning;
using Soup.Training.Models;
namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class TrainingBenchmarkTests
{
    [Fact]
    public void BareLoop_SmallCnn_ReturnsPositiveThroughput()
    {
        var imagesPerSecond = TrainingBenchmark.BareLoop(ModelFactory.SmallCnnName, ModelShape.Mnist, batchSize: 16, steps: 3);

        Assert.True(imagesPerSecond > 0 && double.IsFinite(imagesPerSecond), $"{imagesPerSecond} images/s");
    }
}
