using Soup.Merging;

using Soup.Merging.Engine;

namespace Soup.Benchmarks;

/// <summary>The Python baselines, run side by side with the engine. Each prints one JSON line: seconds (inside the
/// script, imports excluded) and peak_rss_kb (getrusage).</summary>
internal static class BenchScripts
{
    /// <summary>numpy: memory-map every member, merge one tensor at a time in F32, write the output.</summary>
    public const string NumpyMemmap = """
        import json, struct, sys, time, resource
        import numpy as np
        t0 = time.perf_counter()
        out, inputs = sys.argv[1], sys.argv[2:]
        DT = {'F16': np.float16, 'F32': np.float32, 'F64': np.float64}
        def header(path):
            with open(path, 'rb') as f:
                n = struct.unpack('<Q', f.read(8))[0]
                return 8 + n, json.loads(f.read(n))
        heads = [header(p) for p in inputs]
        maps = [np.memmap(p, dtype=np.uint8, mode='r') for p in inputs]
        start0, h0 = heads[0]
        with open(inputs[0], 'rb') as f:
            prefix = f.read(start0)
        names = sorted((k for k in h0 if k != '__metadata__'), key=lambda k: h0[k]['data_offsets'][0])
        with open(out, 'wb') as o:
            o.write(prefix)
            for k in names:
                dtype = h0[k]['dtype']
                views = []
                for (start, h), m in zip(heads, maps):
                    b, e = h[k]['data_offsets']
                    views.append(m[start + b:start + e])
                if dtype == 'BF16':
                    acc = np.zeros(len(views[0]) // 2, np.float32)
                    for v in views:
                        acc += (v.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
                    acc /= len(views)
                    bits = acc.view(np.uint32)
                    o.write(((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16).tobytes())
                elif dtype in DT:
                    acc = views[0].view(DT[dtype]).astype(np.float64 if dtype == 'F64' else np.float32)
                    for v in views[1:]:
                        acc += v.view(DT[dtype])
                    acc /= len(views)
                    o.write(acc.astype(DT[dtype]).tobytes())
                else:
                    o.write(views[0].tobytes())
        print(json.dumps({'seconds': time.perf_counter() - t0, 'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        """;

    /// <summary>PyTorch the usual way: load each whole state dict, sum, divide, save.</summary>
    public const string TorchStateDict = """
        import json, struct, sys, time, resource
        import torch
        t0 = time.perf_counter()
        out, inputs = sys.argv[1], sys.argv[2:]
        DT = {'F16': torch.float16, 'BF16': torch.bfloat16, 'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64,
              'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
        def load(path):
            # The whole state dict in memory, as torch.load or safetensors.torch.load_file give it.
            with open(path, 'rb') as f:
                n = struct.unpack('<Q', f.read(8))[0]
                h = json.loads(f.read(n))
                buf = bytearray(f.read())
            sd = {}
            for k, v in h.items():
                if k == '__metadata__':
                    continue
                dt = DT[v['dtype']]
                b, e = v['data_offsets']
                size = torch.empty((), dtype=dt).element_size()
                t = torch.frombuffer(buf, dtype=dt, count=(e - b) // size, offset=b) if e > b else torch.empty(0, dtype=dt)
                sd[k] = t.reshape(v['shape']).clone()
            return h, sd
        acc, first = None, None
        for p in inputs:
            h, sd = load(p)
            if acc is None:
                first, acc = h, {k: (t.float() if t.is_floating_point() else t) for k, t in sd.items()}
            else:
                for k, t in sd.items():
                    if t.is_floating_point():
                        acc[k] += t.float()
            del sd
        for k, t in acc.items():
            if t.is_floating_point():
                acc[k] = (t / len(inputs)).to(DT[first[k]['dtype']])
        with open(inputs[0], 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            f.seek(0)
            prefix = f.read(8 + n)
        names = sorted((k for k in first if k != '__metadata__'), key=lambda k: first[k]['data_offsets'][0])
        with open(out, 'wb') as o:
            o.write(prefix)
            for k in names:
                t = acc[k].contiguous()
                if t.dtype == torch.bfloat16:
                    t = t.view(torch.int16)
                o.write(t.numpy().tobytes())
        print(json.dumps({'seconds': time.perf_counter() - t0, 'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        """;
}
