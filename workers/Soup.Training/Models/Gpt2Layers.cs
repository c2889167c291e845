using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// Hugging Face's GPT-2 <c>Conv1D</c>: a linear layer whose weight is stored <c>[in, out]</c> (transposed against
/// <c>nn.Linear</c>), so GPT-2 checkpoints load by name and shape without conversion.
/// </summary>
public sealed class Gpt2Conv1D : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    /// <summary>Creates the layer with zero weights (<see cref="Gpt2Backbone.Initialize"/> draws them).</summary>
    public Gpt2Conv1D(long inFeatures, long outFeatures) : base("Conv1D")
    {
        weight = new Parameter(zeros(inFeatures, outFeatures));
        bias = new Parameter(zeros(outFeatures));
        RegisterComponents();
    }

    /// <summary>Maps [..., in] to [..., out]: x·W + b.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var shape = input.shape.ToArray();
        shape[^1] = weight.shape[1];
        using var flat = input.reshape(-1, input.shape[^1]);
        return bias.addmm(flat, weight).view(shape).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2's causal self-attention (<c>attn.c_attn</c>, <c>attn.c_proj</c>), with an optional key/value cache.</summary>
public sealed class Gpt2Attention : Module
{
    private readonly Gpt2Conv1D c_attn;
    private readonly Gpt2Conv1D c_proj;
    private readonly SeededDropout resid_dropout;
    private readonly int heads;
    private readonly int width;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public Gpt2Attention(Gpt2Config config, double dropout, Generator? generator) : base("GPT2Attention")
    {
        heads = config.Heads;
        width = config.Width;
        c_attn = new Gpt2Conv1D(width, 3L * width);
        c_proj = new Gpt2Conv1D(width, width);
        resid_dropout = new SeededDropout(dropout, generator);
        RegisterComponents();
    }

    /// <summary>
    /// Attends over <paramref name="input"/> [B, T, C] and, with a cache, over the cached positions before it.
    /// <paramref name="mask"/> (bool, [B, 1, T, past + T], true: may attend) replaces the causal rule when given.
    /// </summary>
    public Tensor Forward(Tensor input, Gpt2LayerCache? cache, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (input.shape[0], input.shape[1]);
        var qkv = c_attn.forward(input).split(width, dim: 2);
        var query = Heads(qkv[0], batch, length);
        var key = Heads(qkv[1], batch, length);
        var value = Heads(qkv[2], batch, length);
        var past = 0L;
        if (cache is not null)
        {
            past = cache.Length;
            (key, value) = cache.Append(key, value);
        }

        // No mask: the causal rule, which holds as it is only when nothing is cached before these positions.
        if (mask is null && past > 0 && length > 1)
            throw new ArgumentException("Several new positions after cached ones need an explicit mask.", nameof(mask));
        var attended = functional.scaled_dot_product_attention(query, key, value, attn_mask: mask, is_casual: mask is null && length > 1);
        var merged = attended.transpose(1, 2).reshape(batch, length, width);
        return resid_dropout.forward(c_proj.forward(merged)).MoveToOuterDisposeScope();
    }

    private Tensor Heads(Tensor x, long batch, long length) => x.view(batch, length, heads, width / heads).transpose(1, 2);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            c_attn.Dispose();
            c_proj.Dispose();
            resid_dropout.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>GPT-2's feed-forward layer (<c>mlp.c_fc</c>, GELU with the tanh approximation, <c>mlp.c_proj</c>).</summary>
public sealed class Gpt2Mlp : Module<Tensor, Tensor>
{
    private readonly Gpt2Conv1D c_fc;
    private readonly Gpt2Conv1D c_proj;
    private readonly SeededDropout dropout;

    /// <summary>Creates the layer for <paramref name="config"/> (inner width 4×).</summary>
    public Gpt2Mlp(Gpt2Config config, double dropout, Generator? generator) : base("GPT2MLP")
    {
        c_fc = new Gpt2Conv1D(config.Width, 4L * config.Width);
        c_proj = new Gpt2Conv1D(4L * config.Width, config.Width);
        this.dropout = new SeededDropout(dropout, generator);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = functional.gelu(c_fc.forward(input), approximate: TorchSharp.Modules.GELU.Approximate.tanh);
        return dropout.forward(c_proj.forward(hidden)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            c_fc.Dispose();
            c_proj.Dispose();
            dropout.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>One GPT-2 block: x + attn(ln_1(x)), then + mlp(ln_2(·)) (pre-norm).</summary>
public sealed class Gpt2Block : Module
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public Gpt2Block(Gpt2Config config, double dropout, Generator? generator) : base("GPT2Block")
    {
        ln_1 = LayerNorm(config.Width, config.LayerNormEpsilon);
        attn = new Gpt2Attention(config, dropout, generator);
        ln_2 = LayerNorm(config.Width, config.LayerNormEpsilon);
        mlp = new Gpt2Mlp(config, dropout, generator);
        RegisterComponents();
    }

    /// <summary>Runs the block on [B, T, C] (see <see cref="Gpt2Attention.Forward"/> for the cache and mask).</summary>
    public Tensor Forward(Tensor input, Gpt2LayerCache? cache, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var x = input.add(attn.Forward(ln_1.forward(input), cache, mask));
        return x.add(mlp.forward(ln_2.forward(x))).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            ln_1.Dispose();
            attn.Dispose();
            ln_2.Dispose();
            mlp.Dispose();
        }
        base.Dispose(disposing);
    }
}
