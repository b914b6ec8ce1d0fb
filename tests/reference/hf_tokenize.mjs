// Reference tokenizations for tests/core/test_hf_tokenizer.cpp, from independent JavaScript
// implementations: @lenml/tokenizers (a port of transformers.js, which reads tokenizer.json)
// and gpt-3-encoder (GPT-2's own encoder.json + vocab.bpe and BPE loop).
//
//   node hf_tokenize.mjs request.json > response.json
//
// request.json:
//   {"node_modules": "<dir>",                      where the npm packages are installed
//    "tokenizer_json": "<file>",                   a tokenizer.json ...
//    "tokenizer_config": "<file>",                 ... and its tokenizer_config.json
//    "gpt3_encoder": true,                         or gpt-3-encoder instead of the two above
//    "texts": ["...", ...],                        texts to encode
//    "decode": [[ids], ...]}                       (optional) id lists to decode
// response: {"encoded": [{"ids": [...], "ids_special": [...], "decoded": "...",
//                         "decoded_skip": "..."}, ...],
//            "decoded": [{"text": "...", "text_skip": "..."}, ...],
//            "special": {"bos": id, "eos": id, "pad": id, "unk": id}}   (null where absent)
// (ids_special: with add_special_tokens; decoded*: ids decoded without / skipping special
// tokens. gpt-3-encoder has neither special tokens nor options: ids and decoded only.)
// Decoding never applies transformers' clean_up_tokenization_spaces, which the tokenizers
// library does not do either.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const texts = request.texts ?? [];
const response = { encoded: [], decoded: [] };

if (request.gpt3_encoder) {
  const require = createRequire(path.join(request.node_modules, "noop.js"));
  const gpt3 = require("gpt-3-encoder");
  for (const text of texts) {
    const ids = gpt3.encode(text);
    response.encoded.push({ ids, decoded: gpt3.decode(ids) });
  }
  for (const ids of request.decode ?? []) response.decoded.push({ text: gpt3.decode(ids) });
} else {
  const url = pathToFileURL(path.join(request.node_modules, "@lenml/tokenizers/dist/main.mjs"));
  const { TokenizerLoader } = await import(url.href);
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(readFileSync(request.tokenizer_json, "utf8")),
    tokenizerConfig: JSON.parse(readFileSync(request.tokenizer_config, "utf8")),
  });
  // decode() refuses an empty list; the tokenizers library decodes it to "".
  const decode = (ids, skip) =>
    ids.length === 0
      ? ""
      : tokenizer.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
  for (const text of texts) {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const ids_special = tokenizer.encode(text, { add_special_tokens: true });
    response.encoded.push({
      ids,
      ids_special,
      decoded: decode(ids_special, false),
      decoded_skip: decode(ids_special, true),
    });
  }
  for (const ids of request.decode ?? []) {
    response.decoded.push({ text: decode(ids, false), text_skip: decode(ids, true) });
  }
  // (transformers.js falls back to the EOS token when no pad token is named.)
  const id = (x) => (x === undefined || x === null ? null : x);
  response.special = {
    bos: id(tokenizer.bos_token_id),
    eos: id(tokenizer.eos_token_id),
    pad: id(tokenizer.pad_token_id),
    unk: id(tokenizer.unk_token_id),
  };
}
process.stdout.write(JSON.stringify(response));
