// The sentencepiece side of the C shim declared in spm_shim.h: wraps SentencePieceProcessor and
// SentencePieceTrainer so that no C++ object, allocation or exception leaves this library.
#include "spm_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct sculpt_spm_model {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

// Copies message into the caller's buffer, truncated and always NUL-terminated.
void copy_error(const std::string& message, char* error, size_t error_cap) {
  if (error == nullptr || error_cap == 0) return;
  const size_t n = std::min(message.size(), error_cap - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

// Turns a sentencepiece status into a return code (and its message into the error buffer).
int from_status(const sentencepiece::util::Status& status, char* error, size_t error_cap) {
  if (status.ok()) return SCULPT_SPM_OK;
  const std::string message = status.ToString();
  copy_error(message.empty() ? "sentencepiece failed without a message" : message, error,
             error_cap);
  return SCULPT_SPM_FAILED;
}

// Copies a result into a caller buffer, or reports the size it needs.
template <class T>
int copy_out(const T* data, size_t n, T* out, size_t out_cap, size_t* n_needed) {
  *n_needed = n;
  if (n > out_cap) return SCULPT_SPM_BUFFER_TOO_SMALL;
  if (n > 0) std::memcpy(out, data, n * sizeof(T));
  return SCULPT_SPM_OK;
}

// Runs body, turning any escaping exception into SCULPT_SPM_FAILED: an exception must never
// unwind into the other namespace's frames, whose libstdc++ would not recognise it.
template <class Body>
int guarded(char* error, size_t error_cap, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    copy_error(std::string("sentencepiece threw: ") + e.what(), error, error_cap);
  } catch (...) {
    copy_error("sentencepiece threw a non-standard exception", error, error_cap);
  }
  return SCULPT_SPM_FAILED;
}

bool in_range(const sculpt_spm_model* model, int32_t id) {
  return id >= 0 && id < model->processor.GetPieceSize();
}

}  // namespace

extern "C" {

int sculpt_spm_abi_version(void) { return SCULPT_SPM_ABI_VERSION; }

int sculpt_spm_train(const char* const* keys, const char* const* values, size_t n_args,
                     uint32_t seed, char* error, size_t error_cap) {
  return guarded(error, error_cap, [&] {
    std::unordered_map<std::string, std::string> kwargs;
    for (size_t i = 0; i < n_args; ++i) kwargs[keys[i]] = values[i];
    sentencepiece::SetRandomGeneratorSeed(seed);
    return from_status(sentencepiece::SentencePieceTrainer::Train(kwargs), error, error_cap);
  });
}

int sculpt_spm_load(const char* path, sculpt_spm_model** model, char* error, size_t error_cap) {
  *model = nullptr;
  return guarded(error, error_cap, [&] {
    auto loaded = std::make_unique<sculpt_spm_model>();
    const int rc = from_status(loaded->processor.Load(path), error, error_cap);
    if (rc == SCULPT_SPM_OK) *model = loaded.release();
    return rc;
  });
}

void sculpt_spm_free(sculpt_spm_model* model) { delete model; }

int32_t sculpt_spm_n_vocab(const sculpt_spm_model* model) {
  return model->processor.GetPieceSize();
}

int32_t sculpt_spm_special_id(const sculpt_spm_model* model, int which) {
  const auto& p = model->processor;
  int32_t id = -1;
  switch (which) {
    case SCULPT_SPM_UNK: id = p.unk_id(); break;
    case SCULPT_SPM_BOS: id = p.bos_id(); break;
    case SCULPT_SPM_EOS: id = p.eos_id(); break;
    case SCULPT_SPM_PAD: id = p.pad_id(); break;
    default: return -1;
  }
  return in_range(model, id) ? id : -1;
}

int sculpt_spm_piece_kind(const sculpt_spm_model* model, int32_t id) {
  if (!in_range(model, id)) return -1;
  const auto& p = model->processor;
  if (p.IsUnknown(id)) return SCULPT_SPM_PIECE_UNKNOWN;
  if (p.IsControl(id)) return SCULPT_SPM_PIECE_CONTROL;
  if (p.IsUnused(id)) return SCULPT_SPM_PIECE_UNUSED;
  if (p.IsByte(id)) return SCULPT_SPM_PIECE_BYTE;
  return SCULPT_SPM_PIECE_NORMAL;
}

int32_t sculpt_spm_piece_to_id(const sculpt_spm_model* model, const char* piece, size_t len) {
  try {
    const auto& p = model->processor;
    const absl::string_view wanted(piece, len);
    const int id = p.PieceToId(wanted);
    // PieceToId answers unk_id for anything it does not know; only the unk piece itself
    // really has that id.
    if (!in_range(model, id)) return -1;
    if (id == p.unk_id() && p.IdToPiece(id) != std::string(wanted.data(), wanted.size())) {
      return -1;
    }
    return id;
  } catch (...) {
    return -1;
  }
}

int sculpt_spm_id_to_piece(const sculpt_spm_model* model, int32_t id, char* out, size_t out_cap,
                           size_t* n_needed, char* error, size_t error_cap) {
  *n_needed = 0;
  return guarded(error, error_cap, [&] {
    if (!in_range(model, id)) {
      copy_error("id " + std::to_string(id) + " is out of range [0, " +
                     std::to_string(model->processor.GetPieceSize()) + ")",
                 error, error_cap);
      return static_cast<int>(SCULPT_SPM_FAILED);
    }
    const std::string& piece = model->processor.IdToPiece(id);
    return copy_out(piece.data(), piece.size(), out, out_cap, n_needed);
  });
}

int sculpt_spm_encode(const sculpt_spm_model* model, const char* text, size_t text_len,
                      int32_t* ids, size_t ids_cap, size_t* n_needed, char* error,
                      size_t error_cap) {
  *n_needed = 0;
  return guarded(error, error_cap, [&] {
    std::vector<int> encoded;
    const int rc = from_status(
        model->processor.Encode(absl::string_view(text, text_len), &encoded), error, error_cap);
    if (rc != SCULPT_SPM_OK) return rc;
    static_assert(sizeof(int) == sizeof(int32_t), "spm ids are int");
    return copy_out(reinterpret_cast<const int32_t*>(encoded.data()), encoded.size(), ids,
                    ids_cap, n_needed);
  });
}

int sculpt_spm_decode(const sculpt_spm_model* model, const int32_t* ids, size_t n_ids, char* out,
                      size_t out_cap, size_t* n_needed, char* error, size_t error_cap) {
  *n_needed = 0;
  return guarded(error, error_cap, [&] {
    // Checked here too, not only by the caller: an out-of-range id would index past the
    // vocabulary inside sentencepiece.
    for (size_t i = 0; i < n_ids; ++i) {
      if (!in_range(model, ids[i])) {
        copy_error("id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                       " is out of range [0, " +
                       std::to_string(model->processor.GetPieceSize()) + ")",
                   error, error_cap);
        return static_cast<int>(SCULPT_SPM_FAILED);
      }
    }
    const std::vector<int> input(ids, ids + n_ids);
    std::string text;
    const int rc = from_status(model->processor.Decode(input, &text), error, error_cap);
    if (rc != SCULPT_SPM_OK) return rc;
    return copy_out(text.data(), text.size(), out, out_cap, n_needed);
  });
}

}  // extern "C"
