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

    private readonly Conv2d conv1;
    private readonly Conv2d conv2 = Conv2d(64, 128, 3, stride: 2, padding: 1);
    private readonly Conv2d conv3 = Conv2d(128, 128, 3, stride: 1, padding: 1);
    private readonly Conv2d conv4 = Conv2d(128, 128, 3, stride: 1, padding: 1);
    private readonly GroupNorm bn0 = GroupNorm(8, 64);
    private readonly GroupNorm bn1 = GroupNorm(8, 128);
    private readonly GroupNorm bn2 = GroupNorm(8, 128);
    private readonly GroupNorm bn3 = GroupNorm(8, 128);

    /// <summary>Creates the featurizer with torch's default (global-generator) initialisation.</summary>
    /// <param name="channels">The number of input image channels.</param>
    public DomainBedMnistFeaturizer(int channels) : base(nameof(DomainBedMnistFeaturizer))
    {
        conv1 = Conv2d(channels, 64, 3, stride: 1, padding: 1);
        // Registration order is DomainBed's attribute order, so the state dict lists conv1..conv4 before bn0..bn3.
        register_module(nameof(conv1), conv1);
        register_module(nameof(conv2), conv2);
        register_module(nameof(conv3), conv3);
        register_module(nameof(conv4), conv4);
        register_module(nameof(bn0), bn0);
        register_module(nameof(bn1), bn1);
        register_module(nameof(bn2), bn2);
        register_module(nameof(bn3), bn3);
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised; PyTorch starts them at 1 and 0.
        using var noGrad = no_grad();
        foreach (var norm in new[] { bn0, bn1, bn2, bn3 })
        {
            init.ones_(norm.weight!);
            init.zeros_(norm.bias!);
        }
    }

    /// <summary>Maps images [N, C, H, W] to features [N, 128].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = bn0.forward(functional.relu(conv1.forward(input)));
        x = bn1.forward(functional.relu(conv2.forward(x)));
        x = bn2.forward(functional.relu(conv3.forward(x)));
        x = bn3.forward(functional.relu(conv4.forward(x)));
        x = functional.adaptive_avg_pool2d(x, [1, 1]);
        return x.flatten(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var module in new Module[] { conv1, conv2, conv3, conv4, bn0, bn1, bn2, bn3 })
                module.Dispose();
        }
        base.Dispose(disposing);
    }
}
