#!/usr/bin/python3
"""Independent references for the model families Sculpt loads beside Llama 2 and Qwen2:
Qwen3, Llama 3.x, Dream, LLaDA, SDAR and Fast-dLLM v2.

For one family it writes a small random checkpoint laid out as the family publishes its own
(config.json with the family's real keys, informational ones included; model.safetensors under
its real tensor names) and the expected outputs, computed in float64 by a forward pass written
from the family's published modeling code (read to learn the formulas; no transformers import,
no code shared with the C++ implementation):

  qwen3         transformers' modeling_qwen3.py: Llama's decoder plus q_norm and k_norm, an
                RMSNorm over head_dim on every query and key head, applied before RoPE; heads
                are config.json's head_dim wide, whatever hidden_size / num_attention_heads is.
  llama3        transformers' modeling_llama.py with modeling_rope_utils.py's
                _compute_llama3_parameters (rope_scaling of rope_type llama3): wavelengths
                above original_max_position_embeddings / low_freq_factor are slowed down by
                factor, those below original / high_freq_factor kept, a linear ramp between.
  dream         Dream's modeling_dream.py (Qwen2's layout: q/k/v biases, no o_proj bias, heads
                hidden_size / num_attention_heads wide, attention not causal) and its sampler in
                generation_utils.py, which shifts the logits right by one,
                cat([logits[:, :1], logits[:, :-1]]): the token at i is predicted at i - 1.
  llada         LLaDA's modeling_llada.py (LLaDALlamaBlock: attn_norm, q/k/v_proj, rotary
                embedding over d_model / n_heads, attention without a causal bias, attn_out;
                ff_norm, ff_out(silu(ff_proj(x)) * up_proj(x)); then ln_f and the ff_out head)
                and generate.py (the logits at i predict the token at i).
  sdar          SDAR's modeling_sdar.py (Qwen3's layout) and generate.py (a block-diffusion
                mask, query block >= key block for blocks of block_length; the logits at i
                predict the token at i).
  fast_dllm_v2  Fast-dLLM v2's modeling.py (Qwen2's layout; eval_block_diff_mask, query block
                >= key block for blocks of bd_size) and its generate(), which shifts the logits
                right by one as Dream's sampler does.

Causal families also get a greedy continuation of a prompt, recomputed from scratch for every
token. Diffusion families get the first denoising step on a canvas whose tail is masked: at each
masked position of the first block holding one (block-causal families decode block by block, as
their generate() does; the others have one block), the logits that predict it (aligned as the
family's sampler aligns them), a softmax over the vocabulary without the mask token (Sculpt never
writes [MASK]), its argmax and that probability (LLaDA's low-confidence remasking); then the
--commit most confident positions, ties to the lower position.

Output directory: config.json, model.safetensors (F32) and expected.safetensors (F32), holding
  input_ids [B, S], position_ids [B, S], logits [B, S, V] (the model's raw outputs);
  causal families: prompt_ids [1, P], greedy_ids [1, N];
  diffusion families: canvas_ids [1, L] (masked positions hold the mask id),
    step_positions [K], step_tokens [K], step_confidence [K].

Run with Debian's interpreter, which has torch and numpy:
    /usr/bin/python3 tests/reference/families_reference.py --family qwen3 --out DIR
"""

import argparse
import json
import math
import os
import sys

import torch

from llama_reference import write_safetensors  # hand-written safetensors I/O, no model code

FAMILIES = ("qwen3", "llama3", "dream", "llada", "sdar", "fast_dllm_v2")
CAUSAL = ("qwen3", "llama3")


# ----------------------------------------------------------------------------
# config.json as each family publishes it (small shapes, real keys)
# ----------------------------------------------------------------------------

def make_config(a):
    V, H, I, L = a.vocab_size, 64, 160, 2
    if a.family == "qwen3":  # Qwen/Qwen3-0.6B's keys
        return {
            "architectures": ["Qwen3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
            "bos_token_id": 1, "eos_token_id": 2, "head_dim": 32, "hidden_act": "silu", "hidden_size": H,
            "initializer_range": 0.02, "intermediate_size": I, "max_position_embeddings": 128,
            "max_window_layers": L, "model_type": "qwen3", "num_attention_heads": 4, "num_hidden_layers": L,
            "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000,
            "sliding_window": None, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
            "transformers_version": "4.51.0", "use_cache": True, "use_sliding_window": False, "vocab_size": V}
    if a.family == "llama3":  # meta-llama/Llama-3.2-1B's keys
        return {
            "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
            "bos_token_id": 1, "eos_token_id": [2, 3], "head_dim": 16, "hidden_act": "silu", "hidden_size": H,
            "initializer_range": 0.02, "intermediate_size": I, "max_position_embeddings": 512, "mlp_bias": False,
            "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": L, "num_key_value_heads": 2,
            "pretraining_tp": 1, "rms_norm_eps": 1e-05,
            "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                             "original_max_position_embeddings": 64, "rope_type": "llama3"},
            "rope_theta": 500000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
            "transformers_version": "4.45.0.dev0", "use_cache": True, "vocab_size": V}
    if a.family == "dream":  # Dream-org/Dream-v0-Base-7B's keys
        return {
            "architectures": ["DreamModel"], "attention_dropout": 0.0,
            "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
            "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": H, "initializer_range": 0.02,
            "intermediate_size": I, "mask_token_id": a.mask_id, "max_position_embeddings": 128,
            "max_window_layers": L, "model_type": "Dream", "num_attention_heads": 4, "num_hidden_layers": L,
            "num_key_value_heads": 2, "pad_token_id": 2, "rms_norm_eps": 1e-06, "rope_scaling": None,
            "rope_theta": 1000000.0, "sliding_window": None, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
            "transformers_version": "4.46.2", "use_cache": False, "use_sliding_window": False, "vocab_size": V}
    if a.family == "llada":  # GSAI-ML/LLaDA-8B-Instruct's keys
        return {
            "activation_type": "silu", "alibi": False, "alibi_bias_max": 8.0, "architectures": ["LLaDAModelLM"],
            "attention_dropout": 0.0, "attention_layer_norm": False, "attention_layer_norm_with_affine": True,
            "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig", "AutoModel": "modeling_llada.LLaDAModelLM",
                         "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM"},
            "bias_for_layer_norm": False, "block_group_size": 1, "block_type": "llama", "d_model": H,
            "embedding_dropout": 0.0, "embedding_size": V, "eos_token_id": 2, "flash_attention": False,
            "include_bias": False, "include_qkv_bias": False, "init_cutoff_factor": None, "init_device": "meta",
            "init_fn": "mitchell", "init_std": 0.02, "input_emb_norm": False, "layer_norm_type": "rms",
            "layer_norm_with_affine": True, "mask_token_id": a.mask_id, "max_sequence_length": 64,
            "mlp_hidden_size": I, "mlp_ratio": 4, "model_type": "llada", "multi_query_attention": None,
            "n_heads": 4, "n_kv_heads": 2, "n_layers": L, "pad_token_id": 2, "precision": "amp_bf16",
            "residual_dropout": 0.0, "rms_norm_eps": 1e-05, "rope": True, "rope_full_precision": True,
            "rope_theta": 500000.0, "scale_logits": False, "torch_dtype": "bfloat16", "transformers_version": "4.46.3",
            "use_cache": False, "vocab_size": V, "weight_tying": False}
    if a.family == "sdar":  # JetLM/SDAR-1.7B-Chat's keys
        return {
            "architectures": ["SDARForCausalLM"],
            "auto_map": {"AutoConfig": "configuration_sdar.SDARConfig", "AutoModel": "modeling_sdar.SDARModel",
                         "AutoModelForCausalLM": "modeling_sdar.SDARForCausalLM"},
            "attention_bias": False, "attention_dropout": 0.0, "attn_implementation": "flex_attention",
            "bos_token_id": 1, "eos_token_id": 2, "block_size": a.block_size, "mask_token_id": a.mask_id,
            "debug": False, "ep_size": 1, "fuse_cross_entropy": True, "head_dim": 32, "hidden_act": "silu",
            "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I, "max_position_embeddings": 128,
            "max_window_layers": L, "micro_forward": False, "model_type": "sdar", "num_attention_heads": 4,
            "num_hidden_layers": L, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None,
            "rope_theta": 1000000, "skip_checkpoint": False, "sliding_window": None, "tie_word_embeddings": False,
            "torch_dtype": "bfloat16", "transformers_version": "4.52.4", "use_cache": False, "use_deepep": False,
            "use_sliding_window": False, "vocab_size": V}
    if a.family == "fast_dllm_v2":  # Efficient-Large-Model/Fast_dLLM_v2_7B's keys; the mask comes from the tokenizer
        return {
            "architectures": ["Fast_dLLM_QwenForCausalLM"], "attention_dropout": 0.0,
            "auto_map": {"AutoConfig": "configuration.Fast_dLLM_QwenConfig",
                         "AutoModelForCausalLM": "modeling.Fast_dLLM_QwenForCausalLM"},
            "bd_size": a.block_size, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": H,
            "initializer_range": 0.02, "intermediate_size": I, "max_position_embeddings": 128,
            "max_window_layers": L, "model_type": "Fast_dLLM_Qwen", "num_attention_heads": 4,
            "num_hidden_layers": L, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None,
            "rope_theta": 1000000.0, "sliding_window": None, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
            "transformers_version": "4.53.1", "use_cache": True, "use_sliding_window": False, "vocab_size": V}
    raise ValueError(a.family)


# ----------------------------------------------------------------------------
# Random weights under each family's tensor names ([out, in] linear shapes)
# ----------------------------------------------------------------------------

def make_weights(a, cfg, gen):
    def lin(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float32) * a.init_std

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=gen, dtype=torch.float32)

    def bias(n):
        return 0.1 * torch.randn(n, generator=gen, dtype=torch.float32)

    w = {}
    if a.family == "llada":
        H, I, V = cfg["d_model"], cfg["mlp_hidden_size"], cfg["embedding_size"]
        hd = H // cfg["n_heads"]
        kv = cfg["n_kv_heads"] * hd
        w["model.transformer.wte.weight"] = lin(V, H)
        for l in range(cfg["n_layers"]):
            p = "model.transformer.blocks.%d." % l
            w[p + "attn_norm.weight"] = norm(H)
            w[p + "q_proj.weight"] = lin(H, H)
            w[p + "k_proj.weight"] = lin(kv, H)
            w[p + "v_proj.weight"] = lin(kv, H)
            w[p + "attn_out.weight"] = lin(H, H)
            w[p + "ff_norm.weight"] = norm(H)
            w[p + "ff_proj.weight"] = lin(I, H)
            w[p + "up_proj.weight"] = lin(I, H)
            w[p + "ff_out.weight"] = lin(H, I)
        w["model.transformer.ln_f.weight"] = norm(H)
        if not cfg["weight_tying"]:
            w["model.transformer.ff_out.weight"] = lin(V, H)
        return w

    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = head_dim(a.family, cfg)
    qkv_bias = a.family in ("dream", "fast_dllm_v2")  # Qwen2's layout: bias=True on q/k/v, whatever the config says
    w["model.embed_tokens.weight"] = lin(V, H)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = lin(nH * hd, H)
        w[p + "self_attn.k_proj.weight"] = lin(nKV * hd, H)
        w[p + "self_attn.v_proj.weight"] = lin(nKV * hd, H)
        w[p + "self_attn.o_proj.weight"] = lin(H, nH * hd)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = bias(nH * hd)
            w[p + "self_attn.k_proj.bias"] = bias(nKV * hd)
            w[p + "self_attn.v_proj.bias"] = bias(nKV * hd)
        if a.family in ("qwen3", "sdar"):
            w[p + "self_attn.q_norm.weight"] = norm(hd)
            w[p + "self_attn.k_norm.weight"] = norm(hd)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "mlp.gate_proj.weight"] = lin(I, H)
        w[p + "mlp.up_proj.weight"] = lin(I, H)
        w[p + "mlp.down_proj.weight"] = lin(H, I)
    w["model.norm.weight"] = norm(H)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(V, H)
    return w


def head_dim(family, cfg):
    """Qwen3, SDAR (and Llama) read head_dim; Dream and Fast-dLLM v2's configs carry none."""
    if family in ("qwen3", "sdar", "llama3"):
        return cfg["head_dim"]
    return cfg["hidden_size"] // cfg["num_attention_heads"]


# ----------------------------------------------------------------------------
# Formulas
# ----------------------------------------------------------------------------

def rms_norm(x, w, eps):
    """w * x / sqrt(mean(x^2) + eps) over the last dimension (T5 / Llama / LLaDA's RMSLayerNorm)."""
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def linear(x, w, b=None):
    y = x @ w.t()
    return y if b is None else y + b


def inverse_frequencies(dim, theta, rope_scaling):
    """1 / theta^(2i / dim), then Llama 3.1's adjustment (transformers' _compute_llama3_parameters)."""
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    if not rope_scaling or rope_scaling.get("rope_type", rope_scaling.get("type")) != "llama3":
        return inv
    factor = rope_scaling["factor"]
    low, high = rope_scaling["low_freq_factor"], rope_scaling["high_freq_factor"]
    old_len = rope_scaling["original_max_position_embeddings"]
    low_freq_wavelen, high_freq_wavelen = old_len / low, old_len / high
    out = []
    for f in inv.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < high_freq_wavelen:
            out.append(f)
        elif wavelen > low_freq_wavelen:
            out.append(f / factor)
        else:
            smooth = (old_len / wavelen - low) / (high - low)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=torch.float64)


def rotate(x, pos, inv_freq):
    """Rotate-half RoPE: x * cos + rotate_half(x) * sin, angles pos * inv_freq repeated twice.
    x [b, heads, s, d], pos [b, s]."""
    ang = pos.to(torch.float64)[:, None, :, None] * inv_freq  # [b, 1, s, d/2]
    ang = torch.cat([ang, ang], dim=-1)
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * ang.cos() + rot * ang.sin()


def attention(q, k, v, allowed):
    """softmax(q k^T / sqrt(d) over allowed keys) v, query head h reading kv head h // (nH / nKV).
    q [b, nH, s, d], k/v [b, nKV, s, d], allowed bool [s, s]."""
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(groups, dim=1)
    v = v.repeat_interleave(groups, dim=1)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def allowed_pairs(family, cfg, S):
    i = torch.arange(S)[:, None]
    j = torch.arange(S)[None, :]
    if family in CAUSAL:
        return j <= i
    if family == "sdar":
        return j // cfg["block_size"] <= i // cfg["block_size"]
    if family == "fast_dllm_v2":
        return j // cfg["bd_size"] <= i // cfg["bd_size"]
    return torch.ones(S, S, dtype=torch.bool)  # Dream, LLaDA: not causal


# ----------------------------------------------------------------------------
# Forward passes
# ----------------------------------------------------------------------------

def forward_hf(family, cfg, w, ids, pos):
    """Qwen3 / Llama / Dream / SDAR / Fast-dLLM v2 decoders (transformers' layer structure)."""
    B, S = ids.shape
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = head_dim(family, cfg)
    eps = cfg["rms_norm_eps"]
    inv_freq = inverse_frequencies(hd, float(cfg["rope_theta"]), cfg.get("rope_scaling"))
    allowed = allowed_pairs(family, cfg, S)
    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d.self_attn." % l
        a = rms_norm(x, w["model.layers.%d.input_layernorm.weight" % l], eps)
        q = linear(a, w[p + "q_proj.weight"], w.get(p + "q_proj.bias")).view(B, S, nH, hd)
        k = linear(a, w[p + "k_proj.weight"], w.get(p + "k_proj.bias")).view(B, S, nKV, hd)
        v = linear(a, w[p + "v_proj.weight"], w.get(p + "v_proj.bias")).view(B, S, nKV, hd)
        if family in ("qwen3", "sdar"):  # q_norm / k_norm over head_dim, before the rotation
            q = rms_norm(q, w[p + "q_norm.weight"], eps)
            k = rms_norm(k, w[p + "k_norm.weight"], eps)
        q = rotate(q.transpose(1, 2), pos, inv_freq)
        k = rotate(k.transpose(1, 2), pos, inv_freq)
        o = attention(q, k, v.transpose(1, 2), allowed).transpose(1, 2).reshape(B, S, nH * hd)
        h = x + linear(o, w[p + "o_proj.weight"])
        m = rms_norm(h, w["model.layers.%d.post_attention_layernorm.weight" % l], eps)
        mlp = "model.layers.%d.mlp." % l
        gate = torch.nn.functional.silu(linear(m, w[mlp + "gate_proj.weight"]))
        x = h + linear(gate * linear(m, w[mlp + "up_proj.weight"]), w[mlp + "down_proj.weight"])
    hidden = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return linear(hidden, head)


def forward_llada(cfg, w, ids):
    """LLaDAModel.forward with LLaDALlamaBlocks; positions are always 0..S-1 (no position ids)."""
    B, S = ids.shape
    nH, nKV = cfg["n_heads"], cfg["n_kv_heads"]
    hd = cfg["d_model"] // nH
    eps = cfg["rms_norm_eps"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    pos = torch.arange(S).unsqueeze(0).expand(B, S)
    allowed = torch.ones(S, S, dtype=torch.bool)  # get_bidirectional_attention_bias: zeros
    x = w["model.transformer.wte.weight"][ids]
    for l in range(cfg["n_layers"]):
        p = "model.transformer.blocks.%d." % l
        xn = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q = linear(xn, w[p + "q_proj.weight"]).view(B, S, nH, hd).transpose(1, 2)
        k = linear(xn, w[p + "k_proj.weight"]).view(B, S, nKV, hd).transpose(1, 2)
        v = linear(xn, w[p + "v_proj.weight"]).view(B, S, nKV, hd).transpose(1, 2)
        q, k = rotate(q, pos, inv_freq), rotate(k, pos, inv_freq)
        att = attention(q, k, v, allowed).transpose(1, 2).reshape(B, S, nH * hd)
        x = x + linear(att, w[p + "attn_out.weight"])
        f = rms_norm(x, w[p + "ff_norm.weight"], eps)
        act = torch.nn.functional.silu(linear(f, w[p + "ff_proj.weight"])) * linear(f, w[p + "up_proj.weight"])
        x = x + linear(act, w[p + "ff_out.weight"])
    x = rms_norm(x, w["model.transformer.ln_f.weight"], eps)
    head = w["model.transformer.wte.weight"] if cfg["weight_tying"] else w["model.transformer.ff_out.weight"]
    return linear(x, head)


def forward(family, cfg, w, ids, pos):
    if family == "llada":
        return forward_llada(cfg, w, ids)
    return forward_hf(family, cfg, w, ids, pos)


# ----------------------------------------------------------------------------
# What the tests compare beyond the logits
# ----------------------------------------------------------------------------

def greedy_continuation(family, cfg, w, prompt, n_new):
    """Argmax of the last position's logits, appended, n_new times, each by full recomputation."""
    seq = prompt.clone()
    for _ in range(n_new):
        pos = torch.arange(seq.shape[1]).unsqueeze(0)
        nxt = forward(family, cfg, w, seq, pos)[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq[:, prompt.shape[1]:]


def first_denoising_step(a, cfg, w, canvas, first_masked):
    """The K most confident predictions of the first step over the canvas's first block holding
    masked positions (see the module docstring). Returns (positions, tokens, confidence)."""
    L = canvas.shape[1]
    logits = forward(a.family, cfg, w, canvas, torch.arange(L).unsqueeze(0))[0]  # [L, V]
    if a.family in ("dream", "fast_dllm_v2"):  # the token at i is predicted at i - 1
        logits = torch.cat([logits[:1], logits[:-1]], dim=0)
    block = {"sdar": cfg.get("block_size"), "fast_dllm_v2": cfg.get("bd_size")}.get(a.family)
    end = L if block is None else (first_masked // block + 1) * block
    masked = [i for i in range(first_masked, min(end, L))]
    logits = logits.clone()
    logits[:, a.mask_id] = float("-inf")
    probs = torch.softmax(logits, dim=-1)
    conf, tok = probs[masked].max(dim=-1)
    order = sorted(range(len(masked)), key=lambda j: (-float(conf[j]), masked[j]))[:a.commit]
    return ([masked[j] for j in order], [int(tok[j]) for j in order], [float(conf[j]) for j in order])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", choices=FAMILIES, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--mask-id", type=int, default=3, help="the mask token (config.json's, or the tokenizer's)")
    p.add_argument("--block-size", type=int, default=4, help="SDAR's block_size / Fast-dLLM v2's bd_size")
    p.add_argument("--seq-len", type=int, default=11)
    p.add_argument("--position-offset", type=int, default=0, help="position_ids = K + arange(seq) (causal families)")
    p.add_argument("--prompt-len", type=int, default=5, help="causal: prompt tokens; diffusion: unmasked canvas prefix")
    p.add_argument("--new-tokens", type=int, default=8, help="causal: greedy tokens")
    p.add_argument("--canvas-len", type=int, default=11)
    p.add_argument("--commit", type=int, default=2, help="diffusion: positions the first step commits")
    p.add_argument("--init-std", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.family not in CAUSAL:
        a.position_offset = 0  # diffusion models run at positions 0..S-1 (LLaDA takes no position ids)

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(a.seed)
    cfg = make_config(a)
    w32 = make_weights(a, cfg, gen)
    w = {k: v.to(torch.float64) for k, v in w32.items()}
    V = a.vocab_size

    ids = torch.randint(0, V, (2, a.seq_len), generator=gen)
    pos = (a.position_offset + torch.arange(a.seq_len)).unsqueeze(0).repeat(2, 1)
    expected = {"input_ids": ids, "position_ids": pos, "logits": forward(a.family, cfg, w, ids, pos)}
    summary = {"family": a.family, "max_abs_logit": float(expected["logits"].abs().max())}
    if a.family in CAUSAL:
        prompt = ids[:1, :a.prompt_len]
        expected["prompt_ids"] = prompt
        expected["greedy_ids"] = greedy_continuation(a.family, cfg, w, prompt, a.new_tokens)
    else:
        canvas = torch.randint(0, V, (1, a.canvas_len), generator=gen)
        canvas[canvas == a.mask_id] = (a.mask_id + 1) % V
        canvas[0, a.prompt_len:] = a.mask_id
        positions, tokens, confidence = first_denoising_step(a, cfg, w, canvas, a.prompt_len)
        expected.update({"canvas_ids": canvas, "step_positions": torch.tensor(positions),
                         "step_tokens": torch.tensor(tokens), "step_confidence": torch.tensor(confidence)})
        summary.update({"step_positions": positions, "step_tokens": tokens})

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(a.out, "model.safetensors"), w32, lambda name: "F32", metadata={"format": "pt"})
    write_safetensors(os.path.join(a.out, "expected.safetensors"),
                      {k: v.to(torch.float32) for k, v in expected.items()}, lambda name: "F32",
                      metadata={"format": "pt"})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
