using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Training.Data;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>Image classification: a model from <see cref="ModelFactory"/>, cross-entropy (class-weighted when asked) on labelled images.</summary>
/// <param name="data">The training images (disposed with the objective only when <paramref name="ownsData"/>).</param>
/// <param name="classWeights">Per-class loss weights, or null.</param>
/// <param name="ownsData">Whether disposing the objective disposes <paramref name="data"/>.</param>
public sealed class ImageClassification(ILabelledImages data, IReadOnlyList<double>? classWeights = null, bool ownsData = false) : TrainingObjective
{
    private Tensor? _classWeights;

    /// <summary>The images' shape and classes.</summary>
    public ModelShape Shape => data.Shape;

    /// <inheritdoc />
    public override int Count => data.Count;

    /// <inheritdoc />
    public override string Unit => "images";

    /// <inheritdoc />
    public override long PredictionsPerExample => 1;

    /// <inheritdoc />
    public override void Validate(FineTuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!ModelFactory.KnownModels.Contains(options.Model))
            Refuse(nameof(options.Model), $"Unknown model '{options.Model}'. Known models: {string.Join(", ", ModelFactory.KnownModels)}.");
        if (options.Settings.ClassWeights is { } weights)
        {
            if (weights.Count != data.Shape.Classes)
                Refuse(nameof(TrainSettings.ClassWeights), $"ClassWeights has {weights.Count} weights, the data has {data.Shape.Classes} classes.");
            for (var i = 0; i < weights.Count; i++)
            {
                if (!Hyperparameters.ClassWeight.Contains(weights[i]))
                    Refuse(nameof(TrainSettings.ClassWeights), $"ClassWeights must be in {Hyperparameters.ClassWeight}, class {i} has {weights[i]}.");
            }
        }
    }

    /// <inheritdoc />
    public override nn.Module CreateModel(string model, int seed, double dropout, Generator? dropoutGenerator) =>
        ModelFactory.CreateSeeded(model, data.Shape, seed, dropout, dropoutGenerator);

    /// <inheritdoc />
    public override string HeadPrefix(nn.Module model) => ModelFactory.HeadPrefix((nn.Module<Tensor, Tensor>)model);

    /// <inheritdoc />
    public override TrainingBatch Batch(long[] indices, Random random)
    {
        var (images, labels) = data.Batch(indices, random);
        return new TrainingBatch([images, labels], indices.Length);
    }

    /// <inheritdoc />
    public override Tensor Forward(nn.Module model, IReadOnlyList<Tensor> batch) => ((nn.Module<Tensor, Tensor>)model).forward(batch[0]);

    /// <inheritdoc />
    public override (Tensor Loss, long Correct) Loss(Tensor outputs, IReadOnlyList<Tensor> batch, bool countCorrect)
    {
        if (classWeights is not null && _classWeights is null)
            _classWeights = tensor(classWeights.Select(w => (float)w).ToArray()).to(outputs.device).DetachFromDisposeScope();
        var labels = batch[1];
        var loss = nn.functional.cross_entropy(outputs, labels, weight: _classWeights);
        return (loss, countCorrect ? outputs.argmax(1).eq(labels).sum().item<long>() : 0);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _classWeights?.Dispose();
            if (ownsData)
                data.Dispose();
        }
    }
}
