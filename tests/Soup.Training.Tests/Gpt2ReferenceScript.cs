namespace Soup.Training.Tests;

/// <summary>
/// A GPT-2 forward pass written from the architecture (Radford et al. 2019, Hugging Face's GPT-2 names), in plain
/// torch operations and float64, for the parity tests: nothing of ours runs in it.
/// </summary>
internal static class Gpt2ReferenceScript
{
    public static readonly string Text = """"
"""GPT-2 reference: forward LAYERS HEADS EPS WEIGHTS.safetensors INPUT.safetensors OUT.safetensors

INPUT holds "ids" [B, T] (int64) and "lengths" [B]. OUT gets "logits" [B, T, V] (tied head on transformer.wte) and,
when WEIGHTS has score.weight, "rewards" [B]: the head on the hidden state at position lengths - 1.
"""
import math
""""
        + "\n" + PyTorchReferenceScript.Io + "\n" + """"
def forward(w, ids, layers, heads, eps):
    w = {k: v.to(torch.float64) for k, v in w.items()}
    batch, length = ids.shape
    width = w["transformer.wte.weight"].shape[1]
    size = width // heads
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(length)]
    allowed = torch.tril(torch.ones(length, length, dtype=torch.bool))
    for i in range(layers):
        p = f"transformer.h.{i}."
        h = F.layer_norm(x, (width,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.reshape(batch, length, heads, size).transpose(1, 2) for t in qkv.split(width, dim=2))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(size)
        scores = scores.masked_fill(~allowed, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, width)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (width,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = F.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    return F.layer_norm(x, (width,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps), w


def main(argv):
    _, _, layers, heads, eps, weights, inputs, out = argv
    tensors = read_safetensors(weights)
    given = read_safetensors(inputs)
    ids, lengths = given["ids"].long(), given["lengths"].long()
    with torch.no_grad():
        hidden, w = forward(tensors, ids, int(layers), int(heads), float(eps))
        result = {"logits": hidden @ w["transformer.wte.weight"].T}
        if "score.weight" in w:
            last = hidden[torch.arange(ids.shape[0]), lengths - 1]
            result["rewards"] = (last @ w["score.weight"].T).squeeze(1)
    write_safetensors(out, result)


if __name__ == "__main__":
    main(sys.argv)
"""";
}
