// Precompiled header for translation units that use LibTorch. Narrower than torch/torch.h
// (which costs ~15 s per translation unit here): tensors, modules and the nn layers we use.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
