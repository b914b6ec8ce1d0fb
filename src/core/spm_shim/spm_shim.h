/* A pure C interface to sentencepiece, built as the shared library sculpt_spm_shim.
 *
 * Why C: the shim is dlmopen()ed into its own link-map namespace (see core/tokenizer.cpp), where
 * it has its own libstdc++ and the protobuf bundled in Debian's libsentencepiece. Nothing that one
 * namespace allocates may be freed or used as a C++ object by the other, so this interface passes
 * only plain values, caller-owned buffers and opaque handles that the shim itself frees:
 *  - strings and id arrays come back through (buffer, capacity) pairs plus a "needed size"
 *    out-parameter; SCULPT_SPM_BUFFER_TOO_SMALL asks the caller to retry with a bigger buffer;
 *  - every C++ exception is caught in the shim and becomes SCULPT_SPM_FAILED plus a message
 *    copied (NUL-terminated, truncated to fit) into the caller's error buffer.
 * All functions are safe to call concurrently on one model (sentencepiece's encode and decode are
 * const), except sculpt_spm_free, and sculpt_spm_train, which sets process-wide spm options.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SCULPT_SPM_API __attribute__((visibility("default")))
#else
#define SCULPT_SPM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature below changes, so a stale installed shim is refused. */
#define SCULPT_SPM_ABI_VERSION 1

enum sculpt_spm_status {
  SCULPT_SPM_OK = 0,
  SCULPT_SPM_FAILED = 1,           /* the error buffer holds sentencepiece's message */
  SCULPT_SPM_BUFFER_TOO_SMALL = 2  /* *n_needed holds the size to retry with */
};

/* What a vocabulary entry is; mirrors sentencepiece's ModelProto.SentencePiece.Type. */
enum sculpt_spm_piece_kind {
  SCULPT_SPM_PIECE_NORMAL = 0, /* includes user-defined pieces */
  SCULPT_SPM_PIECE_UNKNOWN = 1,
  SCULPT_SPM_PIECE_CONTROL = 2,
  SCULPT_SPM_PIECE_UNUSED = 3,
  SCULPT_SPM_PIECE_BYTE = 4
};

enum sculpt_spm_special {
  SCULPT_SPM_UNK = 0,
  SCULPT_SPM_BOS = 1,
  SCULPT_SPM_EOS = 2,
  SCULPT_SPM_PAD = 3
};

/* A loaded model (a sentencepiece::SentencePieceProcessor); freed only by sculpt_spm_free. */
typedef struct sculpt_spm_model sculpt_spm_model;

SCULPT_SPM_API int sculpt_spm_abi_version(void);

/* Trains a model from spm trainer flags given as n_args parallel key/value C strings (the
 * map-based SentencePieceTrainer::Train, so values are not split on spaces). seed feeds
 * sentencepiece's random generator (sentence sampling); UINT32_MAX means "nondeterministic". */
SCULPT_SPM_API int sculpt_spm_train(const char* const* keys, const char* const* values,
                                    size_t n_args, uint32_t seed, char* error, size_t error_cap);

/* Loads <path>; on success *model owns the processor. */
SCULPT_SPM_API int sculpt_spm_load(const char* path, sculpt_spm_model** model, char* error,
                                   size_t error_cap);

/* Frees a model from sculpt_spm_load; null is a no-op. */
SCULPT_SPM_API void sculpt_spm_free(sculpt_spm_model* model);

SCULPT_SPM_API int32_t sculpt_spm_n_vocab(const sculpt_spm_model* model);

/* The id of a sculpt_spm_special, or -1 if the model has none. */
SCULPT_SPM_API int32_t sculpt_spm_special_id(const sculpt_spm_model* model, int which);

/* A sculpt_spm_piece_kind, or -1 if id is out of range. */
SCULPT_SPM_API int sculpt_spm_piece_kind(const sculpt_spm_model* model, int32_t id);

/* The id of the piece (len bytes), or -1 if it is not in the vocabulary (sentencepiece itself
 * answers unk_id for unknown pieces; the shim tells the two apart). */
SCULPT_SPM_API int32_t sculpt_spm_piece_to_id(const sculpt_spm_model* model, const char* piece,
                                              size_t len);

/* Copies the piece's bytes (not NUL-terminated) into out; *n_needed = its length. */
SCULPT_SPM_API int sculpt_spm_id_to_piece(const sculpt_spm_model* model, int32_t id, char* out,
                                          size_t out_cap, size_t* n_needed, char* error,
                                          size_t error_cap);

/* Encodes text_len bytes of UTF-8 to ids (no BOS/EOS); *n_needed = the number of ids. */
SCULPT_SPM_API int sculpt_spm_encode(const sculpt_spm_model* model, const char* text,
                                     size_t text_len, int32_t* ids, size_t ids_cap,
                                     size_t* n_needed, char* error, size_t error_cap);

/* Decodes n_ids ids to text bytes (not NUL-terminated); *n_needed = the text's length. */
SCULPT_SPM_API int sculpt_spm_decode(const sculpt_spm_model* model, const int32_t* ids,
                                     size_t n_ids, char* out, size_t out_cap, size_t* n_needed,
                                     char* error, size_t error_cap);

#ifdef __cplusplus
}
#endif
