using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.Models;

/// <summary>Creates the models the workers can fine-tune, by name.</summary>
public static class ModelFactory
{
    /// <summary>The name of <see cref="SmallCnn"/>.</summary>
    public const string SmallCnnName = "cnn-small";

    /// <summary>The name of <see cref="DomainBedMnistCnn"/>.</summary>
    public const string DomainBedMnistName = "domainbed-mnist";

    /// <summary>The name of torchvision's ResNet-18 (<see cref="ResNet.ResNet18"/>).</summary>
    public const string ResNet18Name = "resnet18";

    /// <summary>The name of torchvision's ResNet-50 (<see cref="ResNet.ResNet50"/>).</summary>
    public const string ResNet50Name = "resnet50";

    private static readonly Lock SeedLock = new();

    /// <summary>The model names <see cref="Create(string, ModelShape, double, Generator?)"/> accepts.</summary>
    public static IReadOnlyList<string> KnownModels { get; } = [SmallCnnName, DomainBedMnistName, ResNet18Name, ResNet50Name];

    /// <summary>Creates a freshly initialised <paramref name="modelName"/> for MNIST-shaped data, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(string modelName) => Create(modelName, ModelShape.Mnist);

    /// <summary>
    /// Creates a freshly initialised model for data of <paramref name="shape"/>, on the CPU. Every model implements
    /// <see cref="IImageClassifier"/>.
    /// </summary>
    /// <param name="modelName">A name from <see cref="KnownModels"/>.</param>
    /// <param name="shape">The input images and class count.</param>
    /// <param name="dropout">Dropout probability before the classifier head, in [0, 1).</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    /// <exception cref="ArgumentException">The name is unknown, or the model cannot take <paramref name="shape"/>; the message says why.</exception>
    public static nn.Module<Tensor, Tensor> Create(string modelName, ModelShape shape, double dropout = 0, Generator? dropoutGenerator = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(shape);
        if (!KnownModels.Contains(modelName, StringComparer.Ordinal))
        {
            throw new ArgumentException(
                $"Unknown model '{modelName}'. Known models: {string.Join(", ", KnownModels)}.", nameof(modelName));
        }
        CheckShape(modelName, shape);
        TorchSetup.Initialize();
        return modelName switch
        {
            SmallCnnName => new SmallCnn(shape.Classes, dropout, dropoutGenerator),
            DomainBedMnistName => new DomainBedMnistCnn(shape.Channels, shape.Classes, dropout, dropoutGenerator),
            ResNet18Name => ResNet.ResNet18(shape.Classes, dropout, dropoutGenerator),
            ResNet50Name => ResNet.ResNet50(shape.Classes, dropout, dropoutGenerator),
            _ => throw new UnreachableException(modelName),
        };
    }

    /// <summary>The state-dict prefix of the model's classifier head.</summary>
    public static string HeadPrefix(nn.Module<Tensor, Tensor> model) =>
        model is IImageClassifier classifier ? classifier.HeadPrefix : throw new ArgumentException($"{model.GetName()} has no classifier head.", nameof(model));

    /// <summary>The shapes <paramref name="modelName"/> takes, in words, e.g. <c>3×H×W images with H, W ≥ 32</c>.</summary>
    private static string Accepts(string modelName) => modelName switch
    {
        SmallCnnName => $"1×{SmallCnn.ImageSize}×{SmallCnn.ImageSize} images",
        DomainBedMnistName => $"C×H×W images with C ≥ 1 and H, W ≥ {DomainBedMnistCnn.MinImageSize}",
        ResNet18Name or ResNet50Name => $"{ResNet.Channels}×H×W images with H, W ≥ {ResNet.MinImageSize}",
        _ => throw new UnreachableException(modelName),
    };

    private static void CheckShape(string modelName, ModelShape shape)
    {
        var fits = shape.Classes >= 1 && modelName switch
        {
            SmallCnnName => shape with { Classes = ModelShape.Mnist.Classes } == ModelShape.Mnist,
            DomainBedMnistName => shape.Channels >= 1
                && shape.Height >= DomainBedMnistCnn.MinImageSize && shape.Width >= DomainBedMnistCnn.MinImageSize,
            ResNet18Name or ResNet50Name =>
                shape.Channels == ResNet.Channels && shape.Height >= ResNet.MinImageSize && shape.Width >= ResNet.MinImageSize,
            _ => throw new UnreachableException(modelName),
        };
        if (!fits)
        {
            throw new ArgumentException(
                $"Model '{modelName}' takes {Accepts(modelName)} and at least 1 class, not {shape}.", nameof(shape));
        }
    }

    /// <summary>
    /// Seeds torch's global generator and creates the model, holding a lock so that members initialised at the same time
    /// in one process each get the initialisation their seed gives.
    /// </summary>
    internal static nn.Module<Tensor, Tensor> CreateSeeded(string modelName, ModelShape shape, long seed, double dropout = 0, Generator? dropoutGenerator = null)
    {
        TorchSetup.Initialize();
        lock (SeedLock)
        {
            torch.random.manual_seed(seed);
            return Create(modelName, shape, dropout, dropoutGenerator);
        }
    }
}
