namespace Soup.Training.Tests;

/// <summary>The Python side of the PyTorch compatibility tests, written to a temp folder and run with /usr/bin/python3.</summary>
internal static class PyTorchReferenceScript
{
    public static readonly string Text = """"
"""PyTorch reference for Soup.Training's models (torch and torchvision from /usr/bin/python3).

A SPEC is MODEL:CHANNELS:CLASSES, e.g. resnet18:3:5. Commands:
  keys OUT.json SPEC...
      each reference module's state dict, {spec: [[name, [shape...], safetensors dtype], ...]}, in order
  forward SPEC WEIGHTS.safetensors INPUT.safetensors OUT.safetensors
      load WEIGHTS strictly, run INPUT["input"] in eval mode, write {"logits": ...}
  export SPEC SEED INPUT.safetensors WEIGHTS-OUT.safetensors LOGITS-OUT.safetensors
      seeded random init with perturbed norm statistics, save it, and the eval-mode logits of INPUT["input"]
"""
""""
        + "\n" + Io + "\n" + """"
class MNIST_CNN(nn.Module):
    """DomainBed's networks.MNIST_CNN."""

    n_outputs = 128

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(64, 128, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(128, 128, 3, 1, padding=1)
        self.conv4 = nn.Conv2d(128, 128, 3, 1, padding=1)
        self.bn0 = nn.GroupNorm(8, 64)
        self.bn1 = nn.GroupNorm(8, 128)
        self.bn2 = nn.GroupNorm(8, 128)
        self.bn3 = nn.GroupNorm(8, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x):
        x = self.bn0(F.relu(self.conv1(x)))
        x = self.bn1(F.relu(self.conv2(x)))
        x = self.bn2(F.relu(self.conv3(x)))
        x = self.bn3(F.relu(self.conv4(x)))
        return self.avgpool(x).view(len(x), -1)


class DomainBedMnist(nn.Module):
    """The featurizer and classifier as DomainBed's ERM names them."""

    def __init__(self, channels, classes):
        super().__init__()
        self.featurizer = MNIST_CNN(channels)
        self.classifier = nn.Linear(MNIST_CNN.n_outputs, classes)

    def forward(self, x):
        return self.classifier(self.featurizer(x))


def build(spec):
    model, channels, classes = spec.split(":")
    channels, classes = int(channels), int(classes)
    if model == "domainbed-mnist":
        return DomainBedMnist(channels, classes)
    if model == "resnet18":
        return torchvision.models.resnet18(num_classes=classes)
    if model == "resnet50":
        return torchvision.models.resnet50(num_classes=classes)
    raise SystemExit(f"unknown model {model}")


def perturb_norms(module):
    """Non-default norm parameters and running statistics, so a test notices any that do not travel."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.BatchNorm2d, nn.GroupNorm)):
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.normal_(0, 0.1)
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.normal_(0, 0.1)
                layer.running_var.uniform_(0.5, 1.5)
                layer.num_batches_tracked.fill_(7)


def main(argv):
    command = argv[0]
    torch.set_num_threads(1)
    if command == "keys":
        result = {}
        for spec in argv[2:]:
            state = build(spec).state_dict()
            result[spec] = [[name, list(t.shape), NAMES[t.dtype]] for name, t in state.items()]
        with open(argv[1], "w") as f:
            json.dump(result, f)
    elif command == "forward":
        module = build(argv[1])
        module.load_state_dict(read_safetensors(argv[2]), strict=True)
        module.eval()
        with torch.no_grad():
            logits = module(read_safetensors(argv[3])["input"])
        write_safetensors(argv[4], {"logits": logits})
    elif command == "export":
        torch.manual_seed(int(argv[2]))
        module = build(argv[1])
        perturb_norms(module)
        module.eval()
        with torch.no_grad():
            logits = module(read_safetensors(argv[3])["input"])
        write_safetensors(argv[4], module.state_dict())
        write_safetensors(argv[5], {"logits": logits})
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
"""";

    /// <summary>
    /// The imports every reference script needs (torch, and torchvision when it is installed; exit 3 when torch is not)
    /// and safetensors reading and writing.
    /// </summary>
    public const string Io = """"
import json
import struct
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
except Exception as error:  # noqa: BLE001 - any import failure means the reference cannot run
    print(f"PYTORCH-MISSING: cannot import torch/torchvision with {sys.executable}: {error!r}", file=sys.stderr)
    sys.exit(3)

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    start = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if end == begin:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
        else:
            flat = torch.frombuffer(bytearray(blob[start + begin:start + end]), dtype=dtype)
            tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": NAMES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)



"""";
}
