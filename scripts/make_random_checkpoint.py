#!/usr/bin/env python3
"""Writes a random-weight bfloat16 checkpoint of a published model's size, for measuring loads.

    python3 scripts/make_random_checkpoint.py --size qwen2.5-0.5b --out /tmp/q05
    python3 scripts/make_random_checkpoint.py --size qwen2.5-7b --out /tmp/q7 --shards 4
    sculpt bench load --model /tmp/q7 --dtype checkpoint

config.json carries the published config's architecture keys; the tensors are those the family
publishes (model.safetensors, or shards with model.safetensors.index.json as transformers writes
them). Values are random bfloat16 numbers of magnitude 2^-8 to 2^-6, one 64 MiB random block
repeated: enough to load and run, not to say anything. No tokenizer is written.
"""
import argparse
import json
import math
import os
import struct

# The architecture keys of the published config.json files (Qwen/Qwen2.5-0.5B, Qwen/Qwen2.5-7B).
SIZES = {
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
                         tie_word_embeddings=True),
    "qwen2.5-7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                       num_key_value_heads=4, vocab_size=152064, max_position_embeddings=131072,
                       tie_word_embeddings=False),
}
BLOCK = 64 << 20


def tensors(c):
    """(name, shape) of every Qwen2 tensor, in the order transformers saves them."""
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv = c["num_key_value_heads"] * h // c["num_attention_heads"]
    out = [("model.embed_tokens.weight", [v, h])]
    for n in range(c["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out += [(p + "self_attn.q_proj.weight", [h, h]), (p + "self_attn.q_proj.bias", [h]),
                (p + "self_attn.k_proj.weight", [kv, h]), (p + "self_attn.k_proj.bias", [kv]),
                (p + "self_attn.v_proj.weight", [kv, h]), (p + "self_attn.v_proj.bias", [kv]),
                (p + "self_attn.o_proj.weight", [h, h]),
                (p + "mlp.gate_proj.weight", [i, h]), (p + "mlp.up_proj.weight", [i, h]),
                (p + "mlp.down_proj.weight", [h, i]),
                (p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h])]
    out.append(("model.norm.weight", [h]))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", [v, h]))
    return out


def random_block():
    """BLOCK bytes of little-endian bfloat16: random sign and mantissa, exponent 0x77-0x79."""
    block = bytearray(os.urandom(BLOCK))
    high = bytes((b & 0x80) | 0x3C for b in range(256))  # sign, exponent's top seven bits
    block[1::2] = bytes(block[1::2]).translate(high)
    return bytes(block)


def write_shard(path, named, block):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in named:
        size = 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        left = offset
        while left > 0:
            n = min(left, BLOCK)
            f.write(block[:n])
            left -= n
    os.replace(path + ".tmp", path)
    return offset


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shards", type=int, default=1, help="files to split the tensors over (index.json when > 1)")
    a = ap.parse_args()
    c = dict(SIZES[a.size], model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_act="silu",
             rms_norm_eps=1e-6, rope_theta=1000000.0, use_sliding_window=False, torch_dtype="bfloat16")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    named, block = tensors(c), random_block()
    total = sum(2 * math.prod(s) for _, s in named)
    shards, current, size = [], [], 0
    for t in named:  # about equal shards, in order
        current.append(t)
        size += 2 * math.prod(t[1])
        if size >= total / a.shards and len(shards) < a.shards - 1:
            shards.append(current)
            current, size = [], 0
    shards.append(current)
    if len(shards) == 1:
        write_shard(os.path.join(a.out, "model.safetensors"), shards[0], block)
    else:
        weight_map = {}
        for k, part in enumerate(shards):
            name = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
            write_shard(os.path.join(a.out, name), part, block)
            weight_map.update({n: name for n, _ in part})
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    print(json.dumps({"out": a.out, "parameters": total // 2, "bytes": total, "shards": len(shards)}))


if __name__ == "__main__":
    main()
