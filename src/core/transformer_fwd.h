// The model's names (core/transformer.h) for headers that only pass it by reference or return it
// from a function declaration: they stay free of LibTorch's headers, which take a translation
// unit that parses them about 15 s. A caller that uses the model includes core/transformer.h.
#pragma once

namespace sculpt {

class TransformerImpl;  // the torch::nn::Module
class Transformer;      // TORCH_MODULE(Transformer): the shared holder of a TransformerImpl

}  // namespace sculpt
