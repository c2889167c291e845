using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Evaluation;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>
/// Held-out text to evaluate language models on, as a classification over the vocabulary: an example is one position
/// of a token block that has a next token, its logits are the model's next-token logits there and its label the next
/// token. So accuracy is next-token accuracy, the loss is the next-token cross-entropy (its exponential the
/// perplexity), the ensemble averages the members' next-token distributions, diversity is how often two members
/// predict different next tokens, and a midpoint is scored the same way.
/// </summary>
/// <remarks>
/// The ensemble keeps a probability per example and vocabulary entry (4 bytes each), so a split is cut to
/// <see cref="MaxPositions"/> positions: 2,048 × 50,257 × 4 bytes is 412 MB. The first blocks are kept (the documents'
/// order is the dataset's), and <see cref="DroppedBlocks"/> says how many were left out.
/// </remarks>
public sealed class TextSplit : IEvaluationData
{
    /// <summary>The most next-token predictions a split scores.</summary>
    public const int MaxPositions = 2048;

    private readonly TokenBlocks _blocks;
    private readonly int _keptBlocks;
    private readonly int _vocabulary;

    /// <summary>Creates the split over <paramref name="blocks"/> for a model of <paramref name="vocabulary"/> tokens.</summary>
    public TextSplit(TokenBlocks blocks, int vocabulary)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabulary, 2);
        _blocks = blocks;
        _vocabulary = vocabulary;
        _keptBlocks = Math.Max(1, Math.Min(blocks.Count, MaxPositions / PerBlock));
    }

    /// <summary>Next-token predictions per block.</summary>
    private int PerBlock => _blocks.Length - 1;

    /// <summary>Blocks left out to stay within <see cref="MaxPositions"/>.</summary>
    public int DroppedBlocks => _blocks.Count - _keptBlocks;

    /// <inheritdoc />
    public int Count => _keptBlocks * PerBlock;

    /// <inheritdoc />
    public int Classes => _vocabulary;

    /// <inheritdoc />
    public string Kind => $"next tokens of text blocks of {_blocks.Length} tokens";

    /// <inheritdoc />
    public nn.Module CreateModel(string model) => new Gpt2LanguageModel(LanguageModelling.Config(model));

    /// <inheritdoc />
    public void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source) => LoadLanguageModel(model, tensors, source);

    /// <summary>Loads a language model's checkpoint (ours or Hugging Face's layout) strictly; a reward model's is refused, naming its head.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is a reward model's, or does not fit (the tensor is named).</exception>
    public static void LoadLanguageModel(nn.Module model, IReadOnlyList<TensorData> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Any(t => t.Name == Gpt2RewardModel.HeadPrefix + "weight"))
            throw new InvalidDataException($"{source}: it has '{Gpt2RewardModel.HeadPrefix}weight', a reward model's head; a text split scores language models (reward models are scored on preference pairs).");
        Gpt2Checkpoint.Load(model, tensors, source);
    }

    /// <summary>
    /// The next-token logits and labels of the positions at <paramref name="indices"/>: each block they fall in is run
    /// once, whole, so a position sees the same context however the split is batched.
    /// </summary>
    public (Tensor Logits, Tensor Labels) Outputs(nn.Module model, long[] indices, Device device)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var perBlock = PerBlock;
        var blocks = indices.Select(i => i / perBlock).Distinct().Order().ToArray();
        var row = new Dictionary<long, long>(blocks.Length);
        var ids = new long[blocks.Length * _blocks.Length];
        for (var b = 0; b < blocks.Length; b++)
        {
            row[blocks[b]] = b;
            _blocks[blocks[b]].CopyTo(ids.AsSpan(b * _blocks.Length, _blocks.Length));
        }

        var rows = new long[indices.Length];
        var labels = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            var (block, position) = (indices[i] / perBlock, indices[i] % perBlock);
            rows[i] = (row[block] * _blocks.Length) + position;
            labels[i] = _blocks[block][(int)position + 1];
        }

        using var input = tensor(ids, [blocks.Length, _blocks.Length], device: device);
        using var logits = ((Gpt2LanguageModel)model).forward(input);
        using var flat = logits.reshape(-1, logits.shape[2]);
        using var at = tensor(rows, device: device);
        return (flat.index_select(0, at), tensor(labels, device: device));
    }
}
