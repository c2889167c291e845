using Soup.Training.Evaluation;
namespace Soup.Training.Tests;

public sealed class EnsembleAccumulatorTests
{
    [Fact]
    public void Score_TwoMembers_AveragesProbabilities()
    {
        var ensemble = new EnsembleAccumulator(members: 2, count: 2, classes: 2);

        ensemble.Add(0, 0, [0, 1], [0, 1], Logs(0.9, 0.1, 0.4, 0.6));
        ensemble.Add(1, 0, [0, 1], [1, 1], Logs(0.3, 0.7, 0.2, 0.8));
        var (accuracy, loss) = ensemble.Score();

        Assert.Equal(1.0, accuracy); // mean probabilities [0.6, 0.4] and [0.3, 0.7]
        Assert.Equal(-(Math.Log(0.6) + Math.Log(0.7)) / 2, loss, tolerance: 1e-6);
        Assert.Equal(new PairCounts(BothRight: 1, OnlyFirstWrong: 0, OnlySecondWrong: 1, BothWrongSame: 0, BothWrongDifferent: 0), ensemble.PairCounts().Single());
    }

    [Fact]
    public void Score_BatchesAtOffsets_FillTheirExamples()
    {
        var ensemble = new EnsembleAccumulator(members: 1, count: 3, classes: 2);

        ensemble.Add(0, 2, [1], [0], Logs(0.7, 0.3));
        ensemble.Add(0, 0, [0, 1], [0, 1], Logs(0.8, 0.2, 0.1, 0.9));

        Assert.Equal([0, 1, 1], ensemble.Labels);
        Assert.Equal([0, 1, 0], ensemble.Predictions(0).ToArray());
        Assert.Equal(2.0 / 3, ensemble.Score().Accuracy);
    }

    [Fact]
    public void Score_LabelProbabilityUnderflows_IsFlooredToStayFinite()
    {
        var ensemble = new EnsembleAccumulator(members: 1, count: 1, classes: 2);

        ensemble.Add(0, 0, [1], [0], [0f, float.NegativeInfinity]);

        Assert.Equal(-EnsembleAccumulator.MinLogProbability, ensemble.Score().Loss);
    }

    [Fact]
    public void Score_OneMemberPerExampleLabelFar_MatchesCrossEntropy()
    {
        var ensemble = new EnsembleAccumulator(members: 3, count: 1, classes: 3);
        float[] logs = [-0.5f, -60f, -1.2f];

        for (var member = 0; member < 3; member++)
            ensemble.Add(member, 0, [1], [0], logs);

        Assert.Equal(60, ensemble.Score().Loss, tolerance: 1e-4);
    }

    private static float[] Logs(params double[] probabilities) => probabilities.Select(p => (float)Math.Log(p)).ToArray();
}
