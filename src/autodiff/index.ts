/** Gradient graphs of frozen ONNX models (docs/autodiff.md). */
export { buildGradientModel, gradientGraph, gradientName, headInputName, LOSS_OUTPUT } from './build-gradient-model.js';
export { openGradientSession, type GradientSessionOptions } from './gradient-session.js';
export { ruleOps, NON_DIFFERENTIABLE } from './rules.js';
