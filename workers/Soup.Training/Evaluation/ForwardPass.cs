using static TorchSharp.torch;
using Soup.Training.Data;

namespace Soup.Training.Evaluation;

/// <summary>One evaluation pass of a network over a split, in batches.</summary>
internal static class ForwardPass
{
    /// <summary>
    /// Scores the network (already in eval mode on <paramref name="device"/>) on every example, without gradients, and,
    /// when <paramref name="ensemble"/> is given, adds its outputs there as member <paramref name="member"/>.
    /// </summary>
    /// <returns>The accuracy (argmax of the logits) and mean cross-entropy.</returns>
    public static (double Accuracy, double Loss) Run(
        nn.Module network, IEvaluationData data, int batchSize, Device device, EnsembleAccumulator? ensemble = null, int member = 0)
    {
        using var noGrad = no_grad();
        double lossSum = 0;
        long correct = 0;
        for (var start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(batchSize, data.Count - start);
            var indices = new long[length];
            for (var i = 0; i < length; i++)
                indices[i] = start + i;
            var (logits, labels) = data.Outputs(network, indices, device);
            var predictions = logits.argmax(1);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            correct += predictions.eq(labels).sum().item<long>();
            if (ensemble is not null)
            {
                var logProbabilities = nn.functional.log_softmax(logits, 1).to(float32).cpu().contiguous();
                ensemble.Add(
                    member,
                    start,
                    labels.cpu().to(int64).data<long>().ToArray(),
                    predictions.cpu().data<long>().ToArray(),
                    logProbabilities.data<float>().ToArray());
            }
        }
        return ((double)correct / data.Count, lossSum / data.Count);
    }
}
