using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// torchvision's ResNet <c>Bottleneck</c> (ResNet-50 and up, "v1.5": the stride sits on the 3×3 convolution):
/// conv1 (1×1) → bn1 → ReLU → conv2 (3×3, stride) → bn2 → ReLU → conv3 (1×1, 4× planes) → bn3, plus the shortcut
/// (<c>downsample</c> where the shape changes), then ReLU.
/// </summary>
internal sealed class ResNetBottleneck : Module<Tensor, Tensor>
{
    /// <summary>Output channels per <c>planes</c>.</summary>
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Sequential? downsample;

    public ResNetBottleneck(long inplanes, long planes, long stride, Sequential? downsample) : base(nameof(ResNetBottleneck))
    {
        conv1 = Conv2d(inplanes, planes, 1, bias: false);
        bn1 = BatchNorm2d(planes);
        conv2 = Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        bn2 = BatchNorm2d(planes);
        conv3 = Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = BatchNorm2d(planes * Expansion);
        this.downsample = downsample;
        register_module(nameof(conv1), conv1);
        register_module(nameof(bn1), bn1);
        register_module(nameof(conv2), conv2);
        register_module(nameof(bn2), bn2);
        register_module(nameof(conv3), conv3);
        register_module(nameof(bn3), bn3);
        if (downsample is not null)
            register_module(nameof(downsample), downsample);
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(bn1.forward(conv1.forward(input)));
        x = functional.relu(bn2.forward(conv2.forward(x)));
        x = bn3.forward(conv3.forward(x));
        var shortcut = downsample is null ? input : downsample.forward(input);
        return functional.relu(x.add_(shortcut)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose();
            bn1.Dispose();
            conv2.Dispose();
            bn2.Dispose();
            conv3.Dispose();
            bn3.Dispose();
            downsample?.Dispose();
        }
        base.Dispose(disposing);
    }
}
