using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// DomainBed's MNIST network as its ERM algorithm holds it: <see cref="DomainBedMnistFeaturizer"/> named
/// <c>featurizer</c>, then (seeded dropout) and a linear <c>classifier</c> from 128 features to the classes. State-dict
/// names are DomainBed's (<c>featurizer.conv1.weight</c>, ..., <c>featurizer.bn3.bias</c>, <c>classifier.weight</c>,
/// <c>classifier.bias</c>). Takes any channel count and images of at least
/// <see cref="MinImageSize"/>×<see cref="MinImageSize"/>.
/// </summary>
public sealed class DomainBedMnistCnn : Module<Tensor, Tensor>, IImageClassifier
{
    /// <summary>The smallest image side length accepted.</summary>
    public const int MinImageSize = 8;

    private readonly DomainBedMnistFeaturizer featurizer;
    private readonly SeededDropout dropout;
    private readonly Linear classifier;

    /// <summary>Creates the model with torch's default (global-generator) initialisation.</summary>
    /// <param name="channels">The number of input image channels.</param>
    /// <param name="classes">The number of classes predicted.</param>
    /// <param name="dropout">Dropout probability before the classifier.</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    public DomainBedMnistCnn(int channels, int classes, double dropout = 0, Generator? dropoutGenerator = null)
        : base(nameof(DomainBedMnistCnn))
    {
        featurizer = new DomainBedMnistFeaturizer(channels);
        this.dropout = new SeededDropout(dropout, dropoutGenerator);
        classifier = Linear(DomainBedMnistFeaturizer.Features, classes);
        register_module(nameof(featurizer), featurizer);
        register_module(nameof(dropout), this.dropout);
        register_module(nameof(classifier), classifier);
    }

    /// <inheritdoc />
    public string HeadPrefix => "classifier.";

    /// <summary>Maps images [N, C, H, W] to logits [N, classes].</summary>
    public override Tensor forward(Tensor input)
    {
        using var features = featurizer.forward(input);
        using var dropped = dropout.forward(features);
        return classifier.forward(dropped);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            featurizer.Dispose();
            dropout.Dispose();
            classifier.Dispose();
        }
        base.Dispose(disposing);
    }
}
