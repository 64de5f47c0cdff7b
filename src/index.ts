/** The pmg library API. */
export { PmgError, isPmgError, type PmgErrorCode, type PmgErrorOptions } from './errors/pmg-error.js';
export { SeededRandom } from './core/random.js';
export { createProgress, silentProgress, type ProgressSink, type ProgressTask } from './core/progress.js';
export { OnnxSession, SessionPool, defaultSessionPool, type SessionOptions, type ExecutionProvider } from './runtime/onnx-session.js';
