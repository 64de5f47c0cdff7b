/** Gradient graphs of frozen ONNX models (docs/autodiff.md). */
export { buildGradientModel, gradientGraph, gradientName, headInputName, LOSS_OUTPUT, type GradientGraphSummary } from './build-gradient-model.js';
export { openGradientSession, type GradientSessionOptions, type OpenGradientSession } from './gradient-session.js';
export { ruleOps, NON_DIFFERENTIABLE } from './rules.js';
