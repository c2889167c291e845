using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// torchvision's ResNet for RGB images, with state-dict names, shapes and order exactly as torchvision's
/// (<c>conv1.weight</c>, <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>, ..., <c>layer2.0.downsample.0.weight</c>,
/// <c>layer2.0.downsample.1.running_mean</c>, ..., <c>fc.weight</c>, <c>fc.bias</c>), so PyTorch checkpoints load
/// either way. Seeded dropout sits between the pooled features and <c>fc</c>, as in DomainBed's ResNet featurizer.
/// </summary>
/// <remarks>
/// As DomainBed does for its ResNet, every batch norm stays in eval mode even while the model trains: their running
/// statistics (e.g. those of ImageNet weights) are frozen and normalise with the stored mean and variance, while their
/// affine weight and bias still train. <see cref="train(bool)"/> enforces this.
/// </remarks>
public sealed class ResNet : Module<Tensor, Tensor>, IImageClassifier
{
    /// <summary>The smallest image side length accepted: the network downsamples by 32.</summary>
    public const int MinImageSize = 32;

    /// <summary>The number of input channels (RGB).</summary>
    public const int Channels = 3;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential[] layers;
    private readonly SeededDropout dropout;
    private readonly Linear fc;

    private ResNet(string name, bool bottleneck, int[] blocks, int classes, double dropout, Generator? dropoutGenerator) : base(name)
    {
        var expansion = bottleneck ? ResNetBottleneck.Expansion : ResNetBasicBlock.Expansion;
        conv1 = Conv2d(Channels, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        register_module(nameof(conv1), conv1);
        register_module(nameof(bn1), bn1);
        long inplanes = 64;
        layers = new Sequential[blocks.Length];
        for (var i = 0; i < blocks.Length; i++)
        {
            var planes = 64L << i;
            layers[i] = Layer(bottleneck, ref inplanes, planes * expansion, planes, blocks[i], stride: i == 0 ? 1 : 2);
            register_module($"layer{i + 1}", layers[i]);
        }
        this.dropout = new SeededDropout(dropout, dropoutGenerator);
        fc = Linear(inplanes, classes);
        register_module(nameof(dropout), this.dropout);
        register_module(nameof(fc), fc);
        InitializeLikeTorchvision();
        train(); // a new module trains; this freezes its batch norms from the start, as DomainBed's constructor does.
    }

    /// <inheritdoc />
    public string HeadPrefix => "fc.";

    /// <summary>ResNet-18 (basic blocks 2-2-2-2, 512 features) with a head for <paramref name="classes"/> classes.</summary>
    /// <param name="classes">The number of classes predicted.</param>
    /// <param name="dropout">Dropout probability before <c>fc</c>.</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    public static ResNet ResNet18(int classes, double dropout = 0, Generator? dropoutGenerator = null) =>
        new("ResNet18", bottleneck: false, [2, 2, 2, 2], classes, dropout, dropoutGenerator);

    /// <summary>ResNet-50 (bottleneck blocks 3-4-6-3, 2048 features) with a head for <paramref name="classes"/> classes.</summary>
    /// <param name="classes">The number of classes predicted.</param>
    /// <param name="dropout">Dropout probability before <c>fc</c>.</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    public static ResNet ResNet50(int classes, double dropout = 0, Generator? dropoutGenerator = null) =>
        new("ResNet50", bottleneck: true, [3, 4, 6, 3], classes, dropout, dropoutGenerator);

    /// <summary>Maps images [N, 3, H, W] to logits [N, classes].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(bn1.forward(conv1.forward(input)));
        x = functional.max_pool2d(x, kernel_size: 3, stride: 2, padding: 1);
        foreach (var layer in layers)
            x = layer.forward(x);
        x = functional.adaptive_avg_pool2d(x, [1, 1]).flatten(1);
        return fc.forward(dropout.forward(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Sets training or eval mode; batch norms stay in eval mode either way (frozen statistics).</summary>
    /// <param name="train">True for training mode.</param>
    public override void train(bool train = true)
    {
        base.train(train);
        foreach (var module in modules())
        {
            if (module is BatchNorm2d norm)
                norm.eval();
        }
    }

    /// <summary>The state dict in torchvision's order (each module's parameters, then its buffers, then its children).</summary>
    /// <param name="destination">A dictionary to add to, or null for a new one.</param>
    /// <param name="prefix">A prefix for the names, or null.</param>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null) =>
        PyTorchStateDict.Collect(this, destination, prefix);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose();
            bn1.Dispose();
            foreach (var layer in layers)
                layer.Dispose();
            dropout.Dispose();
            fc.Dispose();
        }
        base.Dispose(disposing);
    }

    private static Sequential Layer(bool bottleneck, ref long inplanes, long outplanes, long planes, int blocks, long stride)
    {
        var layer = Sequential();
        for (var i = 0; i < blocks; i++)
        {
            var blockStride = i == 0 ? stride : 1;
            var downsample = blockStride != 1 || inplanes != outplanes
                ? Sequential(("0", Conv2d(inplanes, outplanes, 1, stride: blockStride, bias: false)), ("1", BatchNorm2d(outplanes)))
                : null;
            Module<Tensor, Tensor> block = bottleneck
                ? new ResNetBottleneck(inplanes, planes, blockStride, downsample)
                : new ResNetBasicBlock(inplanes, planes, blockStride, downsample);
            layer.append(i.ToString(System.Globalization.CultureInfo.InvariantCulture), block);
            inplanes = outplanes;
        }
        return layer;
    }

    /// <summary>
    /// torchvision's initialisation: Kaiming-normal convolutions (fan-out, ReLU), batch norms with weight 1, bias 0 and
    /// fresh statistics (set here explicitly rather than trusting TorchSharp's defaults), default linear.
    /// </summary>
    private void InitializeLikeTorchvision()
    {
        using var noGrad = no_grad();
        foreach (var module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    init.kaiming_normal_(conv.weight!, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d norm:
                    init.ones_(norm.weight!);
                    init.zeros_(norm.bias!);
                    norm.reset_running_stats();
                    break;
            }
        }
    }
}
