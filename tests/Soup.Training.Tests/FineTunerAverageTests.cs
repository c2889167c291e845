using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class FineTunerAverageTests(TinyDataFixture tiny)
{
    private const int Steps = 8;

    [Fact]
    public void Run_MovingAverage_IsTheMeanOfTheWeightsAfterEachStepFromStart()
    {
        var settings = TrainingRuns.Settings() with { Steps = Steps, Dropout = 0.2 };
        var prefixes = Enumerable.Range(3, Steps - 2).Select(t => TrainingRuns.Run(tiny.Train, settings with { Steps = t }).Weights).ToList();

        var averaged = TrainingRuns.Run(tiny.Train, settings with { Average = WeightAverages.MovingAverage, AverageStart = 3 });

        AssertClose(Combine(prefixes.Select(w => (1.0 / prefixes.Count, w)).ToList()), averaged.Weights);
        Assert.False(TrainingRuns.SameBytes(prefixes[^1], averaged.Weights));
    }

    [Fact]
    public void Run_Ema_FollowsTheRecurrenceFromTheInitialWeights()
    {
        const double decay = 0.7;
        var init = TrainingRuns.Init(seed: 4);
        var settings = TrainingRuns.Settings() with { Steps = Steps, EmaDecay = decay };
        var terms = new List<(double, IReadOnlyList<TensorData>)> { (Math.Pow(decay, Steps), init) };
        for (var t = 1; t <= Steps; t++)
            terms.Add(((1 - decay) * Math.Pow(decay, Steps - t), TrainingRuns.Run(tiny.Train, settings with { Steps = t }, init).Weights));

        var ema = TrainingRuns.Run(tiny.Train, settings with { Average = WeightAverages.Ema }, init);

        AssertClose(Combine(terms), ema.Weights);
    }

    [Fact]
    public void Run_HugeAnchorWeight_StaysCloserToInit()
    {
        var init = TrainingRuns.Init(seed: 4);
        var settings = TrainingRuns.Settings() with { Steps = 30, LearningRate = 0.02, EmaDecay = 0.999 };

        var free = TrainingRuns.Run(tiny.Train, settings, init);
        var anchored = TrainingRuns.Run(tiny.Train, settings with { AnchorWeight = 20 }, init);

        var freeDistance = TrainingRuns.Distance(init, free.Weights);
        var anchoredDistance = TrainingRuns.Distance(init, anchored.Weights);
        Assert.True(anchoredDistance < 0.7 * freeDistance, $"anchored {anchoredDistance}, free {freeDistance}");
    }

    private static double[][] Combine(IReadOnlyList<(double Weight, IReadOnlyList<TensorData> Tensors)> terms)
    {
        var result = terms[0].Tensors.Select(t => new double[TrainingRuns.Floats(t).Length]).ToArray();
        foreach (var (weight, tensors) in terms)
        {
            for (var i = 0; i < tensors.Count; i++)
            {
                var values = TrainingRuns.Floats(tensors[i]);
                for (var j = 0; j < values.Length; j++)
                    result[i][j] += weight * values[j];
            }
        }
        return result;
    }

    private static void AssertClose(double[][] expected, IReadOnlyList<TensorData> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            var values = TrainingRuns.Floats(actual[i]);
            for (var j = 0; j < values.Length; j++)
                Assert.True(Math.Abs(expected[i][j] - values[j]) <= 1e-5 + (1e-5 * Math.Abs(expected[i][j])), $"{actual[i].Name}[{j}]: {expected[i][j]} vs {values[j]}");
        }
    }
}
