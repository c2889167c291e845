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

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d _bn2;
    private readonly Conv2d _conv3;
    private readonly BatchNorm2d _bn3;
    private readonly Sequential? _downsample;

    public ResNetBottleneck(long inplanes, long planes, long stride, Sequential? downsample) : base(nameof(ResNetBottleneck))
    {
        _conv1 = Conv2d(inplanes, planes, 1, bias: false);
        _bn1 = BatchNorm2d(planes);
        _conv2 = Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        _bn2 = BatchNorm2d(planes);
        _conv3 = Conv2d(planes, planes * Expansion, 1, bias: false);
        _bn3 = BatchNorm2d(planes * Expansion);
        this._downsample = downsample;
        register_module(nameof(_conv1), _conv1);
        register_module(nameof(_bn1), _bn1);
        register_module(nameof(_conv2), _conv2);
        register_module(nameof(_bn2), _bn2);
        register_module(nameof(_conv3), _conv3);
        register_module(nameof(_bn3), _bn3);
        if (downsample is not null)
            register_module(nameof(downsample), downsample);
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(_bn1.forward(_conv1.forward(input)));
        x = functional.relu(_bn2.forward(_conv2.forward(x)));
        x = _bn3.forward(_conv3.forward(x));
        var shortcut = _downsample is null ? input : _downsample.forward(input);
        return functional.relu(x.add_(shortcut)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _conv1.Dispose();
            _bn1.Dispose();
            _conv2.Dispose();
            _bn2.Dispose();
            _conv3.Dispose();
            _bn3.Dispose();
            _downsample?.Dispose();
        }
        base.Dispose(disposing);
    }
}
