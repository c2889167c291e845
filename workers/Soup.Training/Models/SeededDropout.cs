using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// Inverted dropout whose masks come from a generator of its own (drawn on the CPU), so a job's dropout is reproducible
/// and independent of other jobs in the same process. Identity in eval mode or with probability 0.
/// </summary>
public sealed class SeededDropout : Module<Tensor, Tensor>
{
    private readonly double probability;
    private readonly Generator? generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="probability">The probability of zeroing an element, in [0, 1).</param>
    /// <param name="generator">The generator masks draw from; null: torch's global one.</param>
    public SeededDropout(double probability, Generator? generator) : base(nameof(SeededDropout))
    {
        if (!(probability >= 0 && probability < 1))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "Dropout must be in [0, 1).");
        this.probability = probability;
        this.generator = generator;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!training || probability == 0)
            return input.alias();
        using var scope = NewDisposeScope();
        var draw = rand(input.shape, ScalarType.Float32, CPU, generator: generator);
        var mask = draw.ge(probability).to(input.dtype).to(input.device).div_(1 - probability);
        return input.mul(mask).MoveToOuterDisposeScope();
    }
}
