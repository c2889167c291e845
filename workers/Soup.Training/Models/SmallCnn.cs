using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// A small convolutional classifier for 28×28 grayscale images and 10 classes:
/// conv1 (1→16, 3×3) → ReLU → max-pool 2 → conv2 (16→32, 3×3) → ReLU → max-pool 2 → flatten → fc (800→10).
/// </summary>
public sealed class SmallCnn : Module<Tensor, Tensor>, IImageClassifier
{
    /// <summary>The number of classes the model predicts.</summary>
    public const int ClassCount = 10;

    /// <summary>Image side length the model expects, in pixels.</summary>
    public const int ImageSize = 28;

    private readonly Conv2d conv1 = Conv2d(1, 16, 3);
    private readonly Conv2d conv2 = Conv2d(16, 32, 3);
    private readonly Linear fc;
    private readonly SeededDropout dropout;

    /// <summary>Creates the model with torch's default (global-generator) initialisation.</summary>
    /// <param name="classes">The number of classes predicted.</param>
    /// <param name="dropout">Dropout probability before the head.</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    public SmallCnn(int classes = ClassCount, double dropout = 0, Generator? dropoutGenerator = null) : base(nameof(SmallCnn))
    {
        fc = Linear(32 * 5 * 5, classes);
        this.dropout = new SeededDropout(dropout, dropoutGenerator);
        RegisterComponents();
    }

    /// <inheritdoc />
    public string HeadPrefix => "fc.";

    /// <summary>Maps images [N, 1, 28, 28] to logits [N, 10].</summary>
    public override Tensor forward(Tensor input)
    {
        using var c1 = conv1.forward(input);
        using var r1 = functional.relu(c1);
        using var p1 = functional.max_pool2d(r1, 2);
        using var c2 = conv2.forward(p1);
        using var r2 = functional.relu(c2);
        using var p2 = functional.max_pool2d(r2, 2);
        using var flat = p2.flatten(1);
        using var dropped = dropout.forward(flat);
        return fc.forward(dropped);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose();
            conv2.Dispose();
            fc.Dispose();
            dropout.Dispose();
        }
        base.Dispose(disposing);
    }
}
