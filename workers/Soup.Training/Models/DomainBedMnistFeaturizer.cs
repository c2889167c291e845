using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// DomainBed's <c>MNIST_CNN</c> featurizer: four 3×3 convolutions (C→64, 64→128 with stride 2, 128→128, 128→128), each
/// followed by ReLU and GroupNorm with 8 groups (named <c>bn0</c>..<c>bn3</c> as in DomainBed), then global average
/// pooling to 128 features.
/// </summary>
public sealed class DomainBedMnistFeaturizer : Module<Tensor, Tensor>
{
    /// <summary>The number of features the featurizer outputs.</summary>
    public const int Features = 128;

    private readonly Conv2d _conv1;
    private readonly Conv2d _conv2 = Conv2d(64, 128, 3, stride: 2, padding: 1);
    private readonly Conv2d _conv3 = Conv2d(128, 128, 3, stride: 1, padding: 1);
    private readonly Conv2d _conv4 = Conv2d(128, 128, 3, stride: 1, padding: 1);
    private readonly GroupNorm _bn0 = GroupNorm(8, 64);
    private readonly GroupNorm _bn1 = GroupNorm(8, 128);
    private readonly GroupNorm _bn2 = GroupNorm(8, 128);
    private readonly GroupNorm _bn3 = GroupNorm(8, 128);

    /// <summary>Creates the featurizer with torch's default (global-generator) initialisation.</summary>
    /// <param name="channels">The number of input image channels.</param>
    public DomainBedMnistFeaturizer(int channels) : base(nameof(DomainBedMnistFeaturizer))
    {
        _conv1 = Conv2d(channels, 64, 3, stride: 1, padding: 1);
        // Registration order is DomainBed's attribute order, so the state dict lists conv1..conv4 before bn0..bn3.
        register_module(nameof(_conv1), _conv1);
        register_module(nameof(_conv2), _conv2);
        register_module(nameof(_conv3), _conv3);
        register_module(nameof(_conv4), _conv4);
        register_module(nameof(_bn0), _bn0);
        register_module(nameof(_bn1), _bn1);
        register_module(nameof(_bn2), _bn2);
        register_module(nameof(_bn3), _bn3);
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised; PyTorch starts them at 1 and 0.
        using var noGrad = no_grad();
        foreach (var norm in new[] { _bn0, _bn1, _bn2, _bn3 })
        {
            init.ones_(norm.weight!);
            init.zeros_(norm.bias!);
        }
    }

    /// <summary>Maps images [N, C, H, W] to features [N, 128].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = _bn0.forward(functional.relu(_conv1.forward(input)));
        x = _bn1.forward(functional.relu(_conv2.forward(x)));
        x = _bn2.forward(functional.relu(_conv3.forward(x)));
        x = _bn3.forward(functional.relu(_conv4.forward(x)));
        x = functional.adaptive_avg_pool2d(x, [1, 1]);
        return x.flatten(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var module in new Module[] { _conv1, _conv2, _conv3, _conv4, _bn0, _bn1, _bn2, _bn3 })
                module.Dispose();
        }
        base.Dispose(disposing);
    }
}
