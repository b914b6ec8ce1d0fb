#!/usr/bin/python3
"""Independent reference implementation of the Hugging Face Llama forward pass.

Builds a small random Llama-family checkpoint (config.json + model.safetensors,
Hugging Face naming and layout), runs the forward pass written directly from the
published HF LlamaModel / LlamaForCausalLM formulas in float64, and writes the
expected outputs to expected.safetensors for the C++ parity test.

This file deliberately does not import transformers or safetensors and shares no
code with the C++ implementation.  Safetensors files are written (and read back)
by hand.  Run with Debian's interpreter: /usr/bin/python3 (needs torch + numpy).

Formulas (HF LlamaModel):
  x = embed[ids]
  per layer:  h = x + Attn(RMSNorm_in(x));  x = h + MLP(RMSNorm_post(h))
  RMSNorm(x) = w * x / sqrt(mean(x^2, -1) + eps)
  MLP(x)     = down(silu(gate(x)) * up(x))
  Attn: q,k,v projections (optional q/k/v bias), heads [b, heads, s, hd],
        rotate-half RoPE: inv_freq = 1/theta^(arange(0,hd,2)/hd),
        emb = cat(pos*inv_freq, pos*inv_freq), q' = q*cos + rotate_half(q)*sin,
        rotate_half(x) = cat(-x[..., hd/2:], x[..., :hd/2]),
        GQA: query head h uses kv head h // (nH/nKV),
        softmax(q k^T / sqrt(hd) + mask) v, o_proj(concat heads) (no bias)
  logits = lm_head(RMSNorm_final(x))   (lm_head = embed_tokens when tied)

Mixture of experts (HF MixtralSparseMoeBlock, --num-experts E > 0), replacing MLP:
  router = gate(x) [E];  p = softmax(router);  (w, e) = topk(p, k);  w = w / sum(w)
  MoE(x) = sum_j w_j * w2_e_j(silu(w1_e_j(x)) * w3_e_j(x))
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

ATTENTION_MODES = ("causal", "bidirectional", "block_causal")
DTYPES = ("F32", "F16", "BF16")


# ----------------------------------------------------------------------------
# Hand-written safetensors I/O
# ----------------------------------------------------------------------------

def _tensor_bytes(t, dtype):
    """Return (little-endian raw bytes, safetensors dtype string) for a torch tensor."""
    t = t.detach().contiguous().cpu()
    if dtype == "F32":
        arr = t.to(torch.float32).numpy().astype("<f4", copy=False)
    elif dtype == "F16":
        arr = t.to(torch.float16).numpy().astype("<f2", copy=False)
    elif dtype == "BF16":
        # numpy has no bfloat16: reinterpret the 16-bit pattern as int16.
        arr = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2", copy=False)
    elif dtype == "I64":
        arr = t.to(torch.int64).numpy().astype("<i8", copy=False)
    else:
        raise ValueError("unsupported dtype %r" % dtype)
    return np.ascontiguousarray(arr).tobytes(), dtype


def write_safetensors(path, tensors, dtype_of, metadata=None):
    """tensors: dict name -> torch tensor; dtype_of: name -> safetensors dtype.

    Layout: u64 LE header length N, N bytes of JSON header (space-padded so N is
    a multiple of 8), then the raw tensor data, contiguous, in sorted name order.
    """
    names = sorted(tensors)
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in names:
        raw, dt = _tensor_bytes(tensors[name], dtype_of(name))
        header[name] = {
            "dtype": dt,
            "shape": [int(s) for s in tensors[name].shape],
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def read_safetensors(path):
    """Minimal reader (used by --self-check). Returns dict name -> float64 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, "header length not a multiple of 8"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    out = {}
    expected_offset = 0
    for name in sorted(k for k in header if k != "__metadata__"):
        info = header[name]
        b, e = info["data_offsets"]
        assert b == expected_offset, "tensors not contiguous in sorted order"
        expected_offset = e
        raw = body[b:e]
        shape = info["shape"]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
            arr = (u16 << 16).view(np.float32).astype(np.float64)
        elif dt == "I64":
            arr = np.frombuffer(raw, dtype="<i8").astype(np.float64)
        else:
            raise ValueError("unsupported dtype %r" % dt)
        assert arr.size == int(np.prod(shape)) if shape else arr.size == 1
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    assert expected_offset == len(body), "trailing bytes after tensor data"
    return out


# ----------------------------------------------------------------------------
# Random checkpoint
# ----------------------------------------------------------------------------

def head_dim_of(cfg):
    return cfg["hidden_size"] // cfg["num_attention_heads"]


def make_config(a):
    if a.hidden_size % a.num_heads != 0:
        raise SystemExit("hidden-size must be divisible by num-heads")
    if a.num_heads % a.num_kv_heads != 0:
        raise SystemExit("num-heads must be divisible by num-kv-heads")
    if (a.hidden_size // a.num_heads) % 2 != 0:
        raise SystemExit("head_dim must be even for rotary embeddings")
    if a.block_size < 1:
        raise SystemExit("block-size must be >= 1")
    if a.num_experts < 0 or (a.num_experts > 0 and not 1 <= a.experts_per_tok <= a.num_experts):
        raise SystemExit("need 1 <= experts-per-tok <= num-experts")
    moe = {}
    if a.num_experts > 0:
        moe = {"num_local_experts": a.num_experts, "num_experts_per_tok": a.experts_per_tok,
               "sliding_window": None}
    return {
        **moe,
        "architectures": ["MixtralForCausalLM" if moe else "LlamaForCausalLM"],
        "model_type": "mixtral" if moe else "llama",
        "vocab_size": a.vocab_size,
        "hidden_size": a.hidden_size,
        "intermediate_size": a.intermediate_size,
        "num_hidden_layers": a.num_layers,
        "num_attention_heads": a.num_heads,
        "num_key_value_heads": a.num_kv_heads,
        "head_dim": a.hidden_size // a.num_heads,
        "max_position_embeddings": a.max_position_embeddings,
        "rms_norm_eps": a.rms_norm_eps,
        "rope_theta": a.rope_theta,
        "tie_word_embeddings": bool(a.tie_word_embeddings),
        "attention_bias": bool(a.attention_bias),
        "hidden_act": "silu",
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
        "sculpt_attention": a.attention,
        "sculpt_block_size": a.block_size,
    }


def make_weights(cfg, gen, init_std=0.02):
    """Float32 random weights with HF Llama names and [out, in] shapes."""
    V, H, I = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"]
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = head_dim_of(cfg)

    def lin(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float32) * init_std

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=gen, dtype=torch.float32)

    def bias(n):
        return 0.1 * torch.randn(n, generator=gen, dtype=torch.float32)

    w = {"model.embed_tokens.weight": lin(V, H)}
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        w[p + "self_attn.q_proj.weight"] = lin(nH * hd, H)
        w[p + "self_attn.k_proj.weight"] = lin(nKV * hd, H)
        w[p + "self_attn.v_proj.weight"] = lin(nKV * hd, H)
        w[p + "self_attn.o_proj.weight"] = lin(H, nH * hd)
        if cfg["attention_bias"]:
            w[p + "self_attn.q_proj.bias"] = bias(nH * hd)
            w[p + "self_attn.k_proj.bias"] = bias(nKV * hd)
            w[p + "self_attn.v_proj.bias"] = bias(nKV * hd)
        if cfg.get("num_local_experts", 0) > 0:
            q = p + "block_sparse_moe."
            w[q + "gate.weight"] = lin(cfg["num_local_experts"], H)
            for e in range(cfg["num_local_experts"]):
                w[q + "experts.%d.w1.weight" % e] = lin(I, H)
                w[q + "experts.%d.w2.weight" % e] = lin(H, I)
                w[q + "experts.%d.w3.weight" % e] = lin(I, H)
        else:
            w[p + "mlp.gate_proj.weight"] = lin(I, H)
            w[p + "mlp.up_proj.weight"] = lin(I, H)
            w[p + "mlp.down_proj.weight"] = lin(H, I)
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "post_attention_layernorm.weight"] = norm(H)
    w["model.norm.weight"] = norm(H)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(V, H)
    return w


def make_lora(w32, rank, targets, gen):
    """{layer: (A [rank, in], B [out, rank])} for every 2-d projection weight whose layer name
    PEFT's rule matches (the name equals a target or ends with '.' + target). B is random, not
    zero, so the adapter changes the output."""
    lora = {}
    for name, w in sorted(w32.items()):
        if not name.endswith(".weight") or w.dim() != 2 or "embed_tokens" in name or "norm" in name:
            continue
        layer = name[: -len(".weight")]
        if any(layer == t or layer.endswith("." + t) for t in targets):
            out_f, in_f = w.shape
            lora[layer] = (torch.randn(rank, in_f, generator=gen) * 0.1,
                           torch.randn(out_f, rank, generator=gen) * 0.1)
    if not lora:
        raise SystemExit("llama_reference: --lora-targets match no layer")
    return lora


def apply_lora(w64, lora, scaling):
    """Weights with each update folded in: W + scaling * B A (Hu et al. 2021, eq. 3)."""
    w = dict(w64)
    for layer, (a, b) in lora.items():
        w[layer + ".weight"] = w[layer + ".weight"] + scaling * (b.to(torch.float64) @ a.to(torch.float64))
    return w


def write_peft_adapter(out_dir, lora, args):
    """The Hugging Face PEFT layout, as peft's save_pretrained writes it."""
    os.makedirs(out_dir, exist_ok=True)
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": args.lora_rank,
              "lora_alpha": args.lora_alpha, "lora_dropout": 0.0,
              "target_modules": args.lora_targets.split(","), "bias": "none",
              "fan_in_fan_out": False, "modules_to_save": None, "inference_mode": True,
              "base_model_name_or_path": args.out}
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    tensors = {}
    for layer, (a, b) in lora.items():
        tensors["base_model.model." + layer + ".lora_A.weight"] = a
        tensors["base_model.model." + layer + ".lora_B.weight"] = b
    write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"), tensors,
                      lambda name: "F32", metadata={"format": "pt"})


def round_to_dtype(w, dtype):
    """Weights as a loader converting the stored dtype to float32 would see them."""
    if dtype == "F32":
        return {k: v.clone() for k, v in w.items()}
    tdt = torch.float16 if dtype == "F16" else torch.bfloat16
    return {k: v.to(tdt).to(torch.float32) for k, v in w.items()}


# ----------------------------------------------------------------------------
# Forward pass (float64)
# ----------------------------------------------------------------------------

def allowed_mask(seq, mode, block_size):
    """Bool [seq, seq]: allowed[i, j] == query position i may attend key j."""
    i = torch.arange(seq).unsqueeze(1)
    j = torch.arange(seq).unsqueeze(0)
    if mode == "causal":
        return j <= i
    if mode == "bidirectional":
        return torch.ones(seq, seq, dtype=torch.bool)
    if mode == "block_causal":
        return (j // block_size) <= (i // block_size)
    raise ValueError(mode)


def rms_norm(x, w, eps):
    return w * (x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(pos, hd, theta):
    """pos: [b, s] (float64). Returns cos, sin [b, 1, s, hd] (HF rotate-half layout)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = pos.to(torch.float64).unsqueeze(-1) * inv_freq  # [b, s, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [b, s, hd]
    return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)


def linear(x, w, b=None):
    y = x @ w.transpose(0, 1)
    return y + b if b is not None else y


def feed_forward(cfg, w64, p, vec):
    """The layer's MLP, or its mixture of experts, on one token's vector [H] (float64)."""
    silu = lambda z: z / (1.0 + torch.exp(-z))
    if cfg.get("num_local_experts", 0) == 0:
        gt = w64[p + "mlp.gate_proj.weight"] @ vec
        up = w64[p + "mlp.up_proj.weight"] @ vec
        return w64[p + "mlp.down_proj.weight"] @ (silu(gt) * up)
    q = p + "block_sparse_moe."
    probs = torch.softmax(w64[q + "gate.weight"] @ vec, dim=-1)
    top, chosen = torch.topk(probs, cfg["num_experts_per_tok"])
    top = top / top.sum()
    out = torch.zeros_like(vec)
    for weight, e in zip(top.tolist(), chosen.tolist()):
        x = silu(w64[q + "experts.%d.w1.weight" % e] @ vec) * (w64[q + "experts.%d.w3.weight" % e] @ vec)
        out += weight * (w64[q + "experts.%d.w2.weight" % e] @ x)
    return out


def forward(cfg, w64, ids, pos, mode, block_size, dump=None):
    """w64: float64 weights; ids, pos: int64 [b, s]. Returns (logits, hidden)."""
    B, S = ids.shape
    H = cfg["hidden_size"]
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = head_dim_of(cfg)
    eps = cfg["rms_norm_eps"]
    groups = nH // nKV

    x = w64["model.embed_tokens.weight"][ids]  # [b, s, H]
    if dump is not None:
        dump["embeddings"] = x.clone()
    cos, sin = rope_cos_sin(pos, hd, cfg["rope_theta"])
    allowed = allowed_mask(S, mode, block_size)
    mask = torch.zeros(S, S, dtype=torch.float64).masked_fill(~allowed, float("-inf"))

    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        a = rms_norm(x, w64[p + "input_layernorm.weight"], eps)
        q = linear(a, w64[p + "self_attn.q_proj.weight"], w64.get(p + "self_attn.q_proj.bias"))
        k = linear(a, w64[p + "self_attn.k_proj.weight"], w64.get(p + "self_attn.k_proj.bias"))
        v = linear(a, w64[p + "self_attn.v_proj.weight"], w64.get(p + "self_attn.v_proj.bias"))
        q = q.view(B, S, nH, hd).transpose(1, 2)  # [b, nH, s, hd]
        k = k.view(B, S, nKV, hd).transpose(1, 2)  # [b, nKV, s, hd]
        v = v.view(B, S, nKV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # GQA: query head h uses kv head h // groups.
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        probs = torch.softmax(scores, dim=-1)
        o = (probs @ v).transpose(1, 2).reshape(B, S, nH * hd)
        h = x + linear(o, w64[p + "self_attn.o_proj.weight"])
        m = rms_norm(h, w64[p + "post_attention_layernorm.weight"], eps)
        if cfg.get("num_local_experts", 0) == 0:
            gate = linear(m, w64[p + "mlp.gate_proj.weight"])
            up = linear(m, w64[p + "mlp.up_proj.weight"])
            x = h + linear(torch.nn.functional.silu(gate) * up, w64[p + "mlp.down_proj.weight"])
        else:  # token by token: routing is per token
            flat = m.reshape(-1, m.shape[-1])
            x = h + torch.stack([feed_forward(cfg, w64, p, v) for v in flat]).reshape(m.shape)
        if dump is not None:
            dump["layers.%d.output" % l] = x.clone()

    hidden = rms_norm(x, w64["model.norm.weight"], eps)
    head = w64["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w64["lm_head.weight"]
    logits = linear(hidden, head)
    return logits, hidden


def forward_naive(cfg, w64, ids, pos, mode, block_size):
    """Slow loop-based re-derivation (per batch / head / position) for --self-check."""
    B, S = ids.shape
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = head_dim_of(cfg)
    eps = cfg["rms_norm_eps"]
    theta = cfg["rope_theta"]
    half = hd // 2
    out = torch.zeros(B, S, cfg["vocab_size"], dtype=torch.float64)

    def rope(vec, p):  # vec [hd]
        r = torch.empty_like(vec)
        for d in range(half):
            ang = p * theta ** (-(2.0 * d) / hd)
            c, s = math.cos(ang), math.sin(ang)
            x1, x2 = vec[d].item(), vec[d + half].item()
            r[d] = x1 * c - x2 * s
            r[d + half] = x2 * c + x1 * s
        return r

    def norm(vec, wt):
        return wt * vec / math.sqrt(float((vec * vec).sum()) / vec.numel() + eps)

    for b in range(B):
        xs = [w64["model.embed_tokens.weight"][int(ids[b, t])].clone() for t in range(S)]
        for l in range(cfg["num_hidden_layers"]):
            p = "model.layers.%d." % l
            Wq, Wk, Wv, Wo = (w64[p + "self_attn.%s_proj.weight" % n] for n in "qkvo")
            bq, bk, bv = (w64.get(p + "self_attn.%s_proj.bias" % n) for n in "qkv")
            qs, ks, vs = [], [], []
            for t in range(S):
                a = norm(xs[t], w64[p + "input_layernorm.weight"])
                q, k, v = Wq @ a, Wk @ a, Wv @ a
                if bq is not None:
                    q, k, v = q + bq, k + bk, v + bv
                pt = float(pos[b, t])
                qs.append([rope(q[h * hd:(h + 1) * hd], pt) for h in range(nH)])
                ks.append([rope(k[g * hd:(g + 1) * hd], pt) for g in range(nKV)])
                vs.append([v[g * hd:(g + 1) * hd] for g in range(nKV)])
            new = []
            for i in range(S):
                heads = []
                for h in range(nH):
                    g = h // (nH // nKV)
                    js = [j for j in range(S) if
                          (mode == "bidirectional") or
                          (mode == "causal" and j <= i) or
                          (mode == "block_causal" and j // block_size <= i // block_size)]
                    sc = [float(qs[i][h] @ ks[j][g]) / math.sqrt(hd) for j in js]
                    mx = max(sc)
                    e = [math.exp(s - mx) for s in sc]
                    z = sum(e)
                    acc = torch.zeros(hd, dtype=torch.float64)
                    for j, ej in zip(js, e):
                        acc += (ej / z) * vs[j][g]
                    heads.append(acc)
                hvec = xs[i] + Wo @ torch.cat(heads)
                m = norm(hvec, w64[p + "post_attention_layernorm.weight"])
                new.append(hvec + feed_forward(cfg, w64, p, m))
            xs = new
        head = w64["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w64["lm_head.weight"]
        for t in range(S):
            out[b, t] = head @ norm(xs[t], w64["model.norm.weight"])
    return out


# ----------------------------------------------------------------------------
# Self-check
# ----------------------------------------------------------------------------

def self_check(cfg, w64, ids, pos, args, gen, out_dir):
    B, S = ids.shape
    V = cfg["vocab_size"]
    bs = args.block_size
    checks = []

    def perturb_from(start):
        ids2 = ids.clone()
        if start < S:
            ids2[:, start:] = (ids2[:, start:] + 1 + torch.randint(
                0, V - 1, (B, S - start), generator=gen)) % V
            assert bool((ids2[:, start:] != ids[:, start:]).all())
        return ids2

    # 1. Causal: logits at t must not depend on tokens after t (and must depend
    #    on tokens at/before t).
    base, _ = forward(cfg, w64, ids, pos, "causal", bs)
    for t in range(S - 1):
        alt, _ = forward(cfg, w64, perturb_from(t + 1), pos, "causal", bs)
        assert torch.equal(alt[:, :t + 1], base[:, :t + 1]), \
            "causal: position <= %d changed when tokens > %d changed" % (t, t)
        assert not torch.allclose(alt[:, t + 1:], base[:, t + 1:]), \
            "causal: perturbed positions did not change"
    checks.append("causal_future_independence")

    # 2. Block-causal: a block never sees later blocks; positions inside a block
    #    do see later tokens of the same block.
    base, _ = forward(cfg, w64, ids, pos, "block_causal", bs)
    for start in range(bs, S, bs):
        alt, _ = forward(cfg, w64, perturb_from(start), pos, "block_causal", bs)
        assert torch.equal(alt[:, :start], base[:, :start]), \
            "block_causal: earlier blocks changed when block starting at %d changed" % start
    if bs > 1 and S > 1:
        last_in_first_block = min(bs, S) - 1
        alt, _ = forward(cfg, w64, perturb_from(last_in_first_block), pos, "block_causal", bs)
        assert not torch.allclose(alt[:, 0], base[:, 0]), \
            "block_causal: position 0 did not see a later token of its own block"
    checks.append("block_causal_block_independence")

    # 3. Bidirectional: position 0 sees the last token.
    if S > 1:
        base, _ = forward(cfg, w64, ids, pos, "bidirectional", bs)
        alt, _ = forward(cfg, w64, perturb_from(S - 1), pos, "bidirectional", bs)
        assert not torch.allclose(alt[:, 0], base[:, 0]), \
            "bidirectional: position 0 did not see the last token"
        checks.append("bidirectional_full_context")

    # 4. RoPE is relative: a uniform position shift leaves the logits unchanged
    #    (up to float64 rounding), in every mask mode.
    for mode in ATTENTION_MODES:
        a0, _ = forward(cfg, w64, ids, pos - pos[:, :1], mode, bs)
        a1, _ = forward(cfg, w64, ids, pos - pos[:, :1] + 17, mode, bs)
        assert torch.allclose(a0, a1, rtol=0, atol=1e-9), "rope shift invariance (%s)" % mode
    checks.append("rope_shift_invariance")

    # 5. Vectorized forward matches the slow per-head loop re-derivation.
    small_b = min(B, 1)
    small_s = min(S, 7)
    for mode in ATTENTION_MODES:
        fast, _ = forward(cfg, w64, ids[:small_b, :small_s], pos[:small_b, :small_s], mode, bs)
        slow = forward_naive(cfg, w64, ids[:small_b, :small_s], pos[:small_b, :small_s], mode, bs)
        err = (fast - slow).abs().max().item()
        assert err < 1e-10, "naive vs vectorized mismatch (%s): %g" % (mode, err)
    checks.append("naive_loop_agreement")

    # 6. Written files read back consistently.
    if out_dir is not None:
        model = read_safetensors(os.path.join(out_dir, "model.safetensors"))
        assert sorted(model) == sorted(w64), "model.safetensors tensor names"
        for k in w64:
            assert torch.equal(model[k], w64[k]), "model.safetensors value mismatch: " + k
        exp = read_safetensors(os.path.join(out_dir, "expected.safetensors"))
        assert torch.equal(exp["input_ids"].long(), ids)
        assert torch.equal(exp["position_ids"].long(), pos)
        re_logits, re_hidden = forward(cfg, model, exp["input_ids"].long(),
                                       exp["position_ids"].long(), args.attention, bs)
        assert torch.equal(exp["logits"], re_logits.float().double())
        assert torch.equal(exp["hidden"], re_hidden.float().double())
        with open(os.path.join(out_dir, "config.json")) as f:
            assert json.load(f) == cfg
        checks.append("files_roundtrip")
    return checks


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vocab-size", type=int, default=97)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--intermediate-size", type=int, default=160)
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--num-heads", type=int, default=4)
    p.add_argument("--num-kv-heads", type=int, default=2)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rms-norm-eps", type=float, default=1e-5)
    p.add_argument("--max-position-embeddings", type=int, default=128)
    p.add_argument("--tie-word-embeddings", action="store_true")
    p.add_argument("--attention-bias", action="store_true",
                   help="q/k/v projections have biases (Qwen2-style); o_proj has none")
    p.add_argument("--attention", choices=ATTENTION_MODES, default="causal")
    p.add_argument("--block-size", type=int, default=4,
                   help="block_causal: i attends j iff j // block_size <= i // block_size")
    p.add_argument("--num-experts", type=int, default=0,
                   help="mixture of experts (Mixtral layout) with this many experts per layer; 0 = dense")
    p.add_argument("--experts-per-tok", type=int, default=2, help="experts each token is routed to")
    p.add_argument("--seq-len", type=int, default=11)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-std", type=float, default=0.02,
                   help="std of linear/embedding weights (larger => sharper attention, "
                        "more sensitive parity test)")
    p.add_argument("--position-offset", type=int, default=0,
                   help="position_ids = K + arange(seq) for every row")
    p.add_argument("--dtype", choices=DTYPES, default="F32",
                   help="storage dtype of model.safetensors weights")
    p.add_argument("--dump-layers", action="store_true",
                   help="also store 'embeddings' and 'layers.N.output' in expected.safetensors")
    p.add_argument("--self-check", action="store_true",
                   help="assert masking / RoPE / GQA / file round-trip properties; exit 0 on success")
    p.add_argument("--lora-rank", type=int, default=0,
                   help="also write a random LoRA adapter of this rank in the PEFT layout to OUT/adapter; "
                        "expected.safetensors is then the adapted model's output (W + alpha/r B A)")
    p.add_argument("--lora-alpha", type=float, default=16.0)
    p.add_argument("--lora-targets", default="q_proj,v_proj",
                   help="comma-separated layer names, matched as PEFT does (equal, or ending in '.' + name)")
    p.add_argument("--out", help="output directory (required unless --self-check)")
    a = p.parse_args(argv)
    if a.out is None and not a.self_check:
        p.error("--out is required (unless --self-check)")
    if a.vocab_size < 2 or a.vocab_size > (1 << 24):
        p.error("--vocab-size must be in [2, 2^24] (ids are stored exactly as F32)")
    if a.seq_len < 1 or a.batch < 1:
        p.error("--seq-len and --batch must be >= 1")
    if abs(a.position_offset) + a.seq_len > (1 << 24):
        p.error("positions must be exactly representable in F32")
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(1)  # deterministic reductions
    cfg = make_config(args)
    gen = torch.Generator().manual_seed(args.seed)

    w32 = make_weights(cfg, gen, args.init_std)
    # Values exactly as a loader sees them after converting the stored dtype to F32.
    w_loaded = round_to_dtype(w32, args.dtype)
    w64 = {k: v.to(torch.float64) for k, v in w_loaded.items()}

    B, S = args.batch, args.seq_len
    ids = torch.randint(0, cfg["vocab_size"], (B, S), generator=gen, dtype=torch.int64)
    pos = (args.position_offset + torch.arange(S, dtype=torch.int64)).unsqueeze(0).repeat(B, 1)

    lora = {}
    if args.lora_rank > 0:
        lora = make_lora(w32, args.lora_rank, args.lora_targets.split(","), gen)
        w64 = apply_lora(w64, lora, args.lora_alpha / args.lora_rank)

    dump = {} if args.dump_layers else None
    logits, hidden = forward(cfg, w64, ids, pos, args.attention, args.block_size, dump)

    if args.out is not None:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        write_safetensors(os.path.join(args.out, "model.safetensors"), w32,
                          lambda name: args.dtype, metadata={"format": "pt"})
        expected = {
            "input_ids": ids.to(torch.float32),
            "position_ids": pos.to(torch.float32),
            "logits": logits.to(torch.float32),
            "hidden": hidden.to(torch.float32),
        }
        if dump is not None:
            expected.update({k: v.to(torch.float32) for k, v in dump.items()})
        if lora:
            write_peft_adapter(os.path.join(args.out, "adapter"), lora, args)
        write_safetensors(os.path.join(args.out, "expected.safetensors"), expected,
                          lambda name: "F32", metadata={"format": "pt"})

    checks = []
    if args.self_check:
        checks = self_check(cfg, w64, ids, pos, args, gen, args.out)

    summary = {
        "out": os.path.abspath(args.out) if args.out else None,
        "dtype": args.dtype,
        "attention": args.attention,
        "block_size": args.block_size,
        "tie_word_embeddings": cfg["tie_word_embeddings"],
        "attention_bias": cfg["attention_bias"],
        "position_offset": args.position_offset,
        "seed": args.seed,
        "init_std": args.init_std,
        "input_ids_shape": list(ids.shape),
        "logits_shape": list(logits.shape),
        "hidden_shape": list(hidden.shape),
        "num_weight_tensors": len(w32),
        "max_abs_logit": float(logits.abs().max()),
        "max_abs_hidden": float(hidden.abs().max()),
    }
    if args.position_offset + S > cfg["max_position_embeddings"]:
        summary["warning"] = "positions exceed max_position_embeddings"
    if args.self_check:
        summary["self_check"] = checks
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
