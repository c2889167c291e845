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

    [Fact]
    public void BareLoopText_Gpt2Tiny_CountsTokensOfWholeBlocks()
    {
        var tokensPerSecond = TrainingBenchmark.BareLoopText("gpt2-tiny", batchSize: 1, steps: 2);

        Assert.True(tokensPerSecond > 0 && double.IsFinite(tokensPerSecond), $"{tokensPerSecond} tokens/s");
        Assert.Throws<ArgumentException>(() => TrainingBenchmark.BareLoopText("gpt3", batchSize: 1, steps: 1));
    }
}
