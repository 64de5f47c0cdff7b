/** The pmg library API. */
export { scenes, type Scene, type Item, type History, type Target, type ConversationTurn, type Sample } from './spec/behaviour.js';
export { PmgError, isPmgError, type PmgErrorCode, type PmgErrorOptions } from './errors/pmg-error.js';
export { SeededRandom } from './core/random.js';
export { earlySearchPlan, keepBest, type EarlySearchPlan } from './scoring/ranking.js';
export {
  settingsFromEnvironment,
  loadSettings,
  processSettings,
  cacheDatabaseFile,
  SETTINGS_VARIABLES,
  type Settings,
  type HubSettings,
  type LlmSettings,
  type Environment,
  type LoadSettingsOptions,
} from './settings/settings.js';
export { readPmgConfig, PMG_CONFIG_FILE, PMG_CONFIG_KEYS, type PmgConfig } from './settings/config-file.js';
export {
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
  writeJsonAtomicSync,
  writeFilesAtomicSync,
  replaceFolderAtomic,
  swapFolderSync,
  removeOrphanTemporaries,
  type AtomicWriteOptions,
} from './core/atomic-write.js';
export { createProgress, silentProgress, type ProgressSink, type ProgressTask } from './core/progress.js';
export { OnnxSession, SessionPool, defaultSessionPool, type SessionOptions, type ExecutionProvider } from './runtime/onnx-session.js';
export {
  ModelStore,
  modelStoreOptionsFromEnv,
  modelStoreOptions,
  defaultEndpoint,
  type ModelStoreOptions,
  type ResolvedModel,
  type ResolveRequest,
  type PullResult,
  type CachedModel,
} from './runtime/model-store.js';
export { parseModelSpec, type ModelSpec } from './runtime/cache-layout.js';
export { csvRows, csvRecords, type CsvRow, type CsvRecord } from './data/csv.js';
export { dataSplits, splitEightOneOne, slidingWindows, type SampleSet, type SampleQuery, type DataSplit } from './data/protocol.js';
export {
  loadMovieLens,
  movieLensSamples,
  movieLensSampleForUser,
  movieItem,
  type MovieLensData,
  type Movie,
  type Rating,
  type MovieLensProtocol,
} from './data/movielens.js';
export { loadPog, pogSamples, type PogData, type PogProtocol } from './data/pog.js';
export { loadStickers, stickerSamples, type StickerData } from './data/stickers.js';
export { loadDemoSamples } from './data/demo-sample.js';
export { createScheduler, schedulerFromConfigFile, schedulerNames, resolveSchedulerName, schedulerClassName } from './schedulers/index.js';
export type { Scheduler, SchedulerName, NoiseSource, PredictionType, TimestepSpacing } from './spec/scheduler.js';
export { readHistoryFile, readTargetFile, validateHistory, validateTarget, defaultInputLimits, type InputLimits } from './personalize/inputs.js';
export {
  verbalizeItem,
  verbalizeItems,
  verbalizeConversation,
  verbalizeHistory,
  escapePromptText,
  cutLengths,
  type CaptionImage,
} from './personalize/verbalize.js';
export { loadPrompts, renderPrompt, templateNames, type PromptSet, type PromptTemplate, type TemplateName } from './personalize/prompts.js';
export { parseKeywords, parseKeywordsJson, parseCharacter, parseStickerAnswer, type StickerAnswer } from './personalize/parse-keywords.js';
export { openKeywordCache, memoryKeywordCache, keywordCacheKey, defaultKeywordCachePath, type KeywordCache } from './personalize/keyword-cache.js';
export { extractKeywords, keywordVariants, type ExtractKeywordsOptions, type KeywordResult, type KeywordVariant } from './personalize/extract-keywords.js';
export type {
  LanguageModel,
  GenerateTextOptions,
  GenerateTextResult,
  HiddenStateLanguageModel,
  HiddenStatesOptions,
  HiddenStatesResult,
} from './spec/language-model.js';
export type { Captioner } from './spec/captioner.js';
export {
  createLanguageModel,
  parseLlmSpec,
  hasHiddenStates,
  llmProviderPrefixes,
  type LlmSpec,
  type CreateLanguageModelOptions,
} from './providers/llm/registry.js';
export { OnnxCausalLanguageModel, onnxCausalLmFiles, type OnnxCausalLmOptions } from './providers/llm/onnx-causal-lm.js';
export { OpenAiCompatibleLanguageModel, chatCompletionsUrl, type OpenAiCompatibleOptions } from './providers/llm/openai-compatible.js';
export { createCaptioner, captionerFiles, type CreateCaptionerOptions } from './providers/captioner/onnx-captioner.js';
export type {
  ImageGenerator,
  ImageGeneration,
  ImageGeneratorCapabilities,
  GenerationSettings,
  GeneratorCandidate,
  GeneratorConditioning,
  GeneratorImages,
  GeneratorPreview,
  GeneratorStep,
} from './spec/image-generator.js';
export {
  OnnxImageGenerator,
  loadOnnxImageGenerator,
  type OnnxImageGeneratorOptions,
  type LoadOnnxImageGeneratorOptions,
} from './providers/image/onnx-image-generator.js';
export { checkGeneratorSupports, type GeneratorNeeds } from './providers/image/generator-support.js';
export { createA1111Generator, A1111Generator, a1111SamplerOf } from './providers/image/a1111-generator.js';
export { createComfyuiGenerator, ComfyuiGenerator, comfyuiSamplerOf, comfyWorkflow } from './providers/image/comfyui-generator.js';
export { RemoteImageGenerator, weightedPromptText, type RemoteGeneratorOptions } from './providers/image/remote-generator.js';
export { checkRemoteGeneratorSpec, remoteGeneratorSchemes } from './providers/image/remote-spec.js';
export { providerRegistry, providerFor, createProvider, type ProviderKind, type ProviderKinds, type ProviderEntry } from './providers/registry.js';
export { splitProviderSpec, type ProviderSpec } from './providers/provider-spec.js';
export { startOpenAiServer, type OpenAiTestServer, type ServerBehaviour, type RecordedRequest } from './testing/openai-server.js';
export {
  loadClip,
  requireModelFiles,
  type ClipModel,
  type ClipLoadOptions,
  type ClipImageInput,
  type ImageInput,
  type TransformersLoadOptions,
  type TransformersDevice,
  type TransformersDtype,
} from './runtime/transformers-models.js';
export {
  writeFixtures,
  fixtureWriters,
  type FixtureWriter,
  type WriteFixturesOptions,
  type WrittenFixture,
  type WrittenFile,
} from './fixtures/write-fixtures.js';
export { writeTinyLlm, TINY_LLM_CONFIG, type TinyLlmConfig } from './fixtures/tiny-llm.js';
export { LLM_SCRIPTS, LLM_EOS_ID, LLM_BOS_ID } from './fixtures/tiny-llm-tokenizer.js';
export { writeTinyClip, type TinyClipOptions } from './fixtures/tiny-clip.js';
export {
  clipTokenizerFiles,
  clipVocabulary,
  type ClipTokenizerFiles,
  type ClipVocabulary,
  type ClipVocabularyOptions,
} from './fixtures/tiny-clip-tokenizer.js';
export { readImageRgb, resizeRgb, encodePng, RESIZE_KERNEL, type RgbImage } from './core/image-io.js';
export { clipPreprocessImage } from './core/image-processor.js';
export { ssim, SSIM_CONSTANTS, type SsimOptions, type SsimMode } from './metrics/ssim.js';
export { msSsim, MS_SSIM_WEIGHTS } from './metrics/ms-ssim.js';
export { LpipsModel, LPIPS_SHIFT, LPIPS_SCALE, type LpipsOptions } from './metrics/lpips.js';
export { frechetDistance, frechetDistanceOfFeatures, gaussianStats, type GaussianStats } from './metrics/frechet-distance.js';
export { InceptionFeatures } from './metrics/fid.js';
export { DinoModel } from './metrics/dino.js';
export { clipTextScores, clipImageScores, type ClipEmbedder } from './metrics/clip-score.js';
export { METRIC_NAMES, METRICS, metricInfo, createMetric, type MetricName, type MetricInfo, type Metric, type MetricOptions } from './metrics/registry.js';
export { benchMetrics, formatMetricsBench, type MetricsBenchResult } from './bench/metrics.js';
export {
  decoderKinds,
  type TextEncoder as SdTextEncoder,
  type Unet,
  type VaeDecoder,
  type StableDiffusionModel,
  type DecoderKind,
  type TinyDecoderModel,
  type UnetMemoryProfile,
  type VaeDecoderProfile,
} from './spec/diffusion-models.js';
export type { FloatTensor } from './spec/tensor.js';
export { ClipTokenizer, type ClipTokenizerConfig } from './runtime/clip-tokenizer.js';
export { writeTinySd, TINY_SD_SCALING_FACTOR, type TinySdOptions } from './fixtures/tiny-sd.js';
export {
  writeTinyAutoencoder,
  tinyAutoencoderWeights,
  tinyAutoencoderConfig,
  decoderFlops,
  TAESD_ARCHITECTURES,
  TAESD_DECODER_PARAMETERS,
  type TinyAutoencoderOptions,
  type TinyAutoencoderWidth,
  type TinyDecoderArchitecture,
} from './fixtures/tiny-taesd.js';
export {
  loadTinyDecoder,
  TINY_DECODER_LAYOUT,
  TINY_DECODER_INCLUDE,
  type LoadTinyDecoderOptions,
  type OnnxTinyDecoder,
} from './providers/image/tiny-decoder.js';
export { writeRealScaleFixtures, realScaleWriters, realScaleDir, REAL_SCALE_STAMP } from './fixtures/real-scale-fixtures.js';
export {
  writeRealScaleSd,
  sd15Components,
  SD15_ARCHITECTURE,
  SD15_REDUCED_ARCHITECTURE,
  type Sd15Architecture,
  type Sd15Component,
  type RealScaleSdOptions,
} from './fixtures/real-scale-sd.js';
export {
  loadStableDiffusion,
  DEFAULT_VAE_SCALING_FACTOR,
  type LoadStableDiffusionOptions,
  type OnnxStableDiffusion,
  type ModelResolver,
} from './providers/image/onnx-stable-diffusion.js';
export { checkSdLayout, SD_REQUIRED_FILES, SD_OPTIONAL_FILES, SD_FALLBACK_FILES } from './providers/image/sd-layout.js';
export { SD1_BASE_TOKENIZER, SD2_BASE_TOKENIZER } from './providers/image/sd-fallbacks.js';
export {
  encodePrompt,
  encodePrompts,
  tokenizePrompt,
  promptWindows,
  chunkCount,
  MAX_PROMPT_CHARS,
  MAX_PROMPT_CHUNKS,
  type PromptInput,
  type PromptSpan,
} from './pipeline/prompt-encoding.js';
export { encodeConditioning, type CandidateConditioning, type EncodedConditioning } from './pipeline/conditioning.js';
export { DenoiseState, type DenoiseCandidate, type DenoiseSettings, type StepEvent, type RunOptions } from './pipeline/denoise-state.js';
export { textToImage, prepareDenoise, checkInputs, schedulerFactory, type TextToImageRequest, type TextToImageResult } from './pipeline/text-to-image.js';
export { decodeLatents, finalDecoderOf } from './pipeline/decode-latents.js';
export { livePreviewHook, checkPreviewEvery, type StepPreview, type PreviewCallback, type LivePreviewOptions } from './pipeline/step-preview.js';
export {
  generationRecord,
  generationPngTexts,
  a1111Parameters,
  a1111Sampler,
  imageRecord,
  type GenerationRecord,
  type ImageRecord,
  type SchedulerRecord,
  type DecoderRecord,
  type LatentsSource,
} from './pipeline/generation-record.js';
export { sdPipelineScheduler, type SdScheduler } from './pipeline/sd-scheduler-config.js';
export {
  parseMemoryBudget,
  resolveMemoryBudget,
  memorySnapshot,
  type MemoryBudget,
  type MemoryBudgetSetting,
  type MemorySnapshot,
} from './core/memory-budget.js';
export { planUnetMemory, decoderForMemory, type MemoryOptions, type MemoryRecord } from './pipeline/memory-plan.js';
export { planUnetSlices, estimateUnetRowBytes, describeSlicePlan, type UnetSlicePlan } from './pipeline/unet-slice-plan.js';
export { tiledDecode, tiledVaeDecoder, TILE_OVERLAP_FACTOR, type VaeTiling } from './pipeline/vae-tiling.js';
export { planVaeTiling, estimateVaeDecodeBytes, vaeTilingModes, type VaeTilingMode, type VaeTilingPlan } from './pipeline/vae-tiling-plan.js';
export { convertOnnxToFp32, type Fp32Conversion } from './runtime/onnx-fp32.js';
export { ensureFp32Copies, fp32CopyPath, type Fp32CopyResult } from './runtime/fp32-copies.js';
export { readNpyFloat32, parseNpyFloat32, type NpyFloat32 } from './core/npy.js';
export { withPngText, pngTextChunk, crc32, type PngText } from './core/png-text.js';
export {
  decodePreview,
  decodePreviewWith,
  previewDecoder,
  poolLatents,
  effectivePreviewScale,
  checkPreviewScale,
  DEFAULT_PREVIEW_SCALE,
  TINY_PREVIEW_SCALE,
  type PreviewScale,
  type PreviewOptions,
  type PreviewDecoders,
} from './pipeline/latent-preview.js';
export { tensorToRgbImages, tensorToPngs } from './core/image-tensor.js';
export { float32ToFloat16, float16ToFloat32 } from './core/float16.js';
export { benchDiffusion, formatDiffusionBench, DIFFUSION_BENCH_DEFAULTS, type DiffusionBenchOptions, type DiffusionBenchResult } from './bench/diffusion.js';
export { benchTinyDecoder, timeDecode, type TinyDecoderBenchResult, type DecodeTiming } from './bench/tiny-decoder.js';
export {
  benchRealScale,
  realScaleStages,
  REAL_SCALE_BENCH_DEFAULTS,
  type RealScaleBenchOptions,
  type RealScaleBenchResult,
  type RealScaleStage,
  type RealScaleContext,
  type CallTiming,
  type SessionTiming,
  type PipelineShare,
} from './bench/real-scale.js';
export { formatRealScaleBench } from './bench/real-scale-report.js';
export { presetEstimates, type PresetEstimate } from './bench/real-scale-presets.js';
export { runDemo, userFolderName, networkNeededMessage, TINY_DEMO, type DemoOptions, type DemoOutcome, type DemoUserOutcome } from './web/demo-run.js';
export { renderDemoPage, escapeHtml, type DemoPageInput, type DemoPageUser, type DemoPageCandidate } from './web/demo-page.js';
export { presets, DEFAULT_PRESET, presetNames, isPresetName, type ModelPreset, type PresetName } from './providers/presets.js';
export {
  loadModelSet,
  loadPersonalizeModels,
  imageGeneratorOf,
  resolveModelSpecs,
  resolveDecoderChoice,
  pullingResolver,
  CLIP_FILES,
  SD_INCLUDE,
  NO_DECODER,
  FOLDER_DECODER,
  type ModelSet,
  type ModelSetSpec,
  type GeneratorModelSetSpec,
  type PersonalizeModels,
  type ModelIds,
  type LoadModelSetOptions,
  type ResolvedModelSpecs,
} from './providers/model-set.js';
export {
  personalize,
  checkPersonalizeRequest,
  scoringTexts,
  rankByZ,
  candidateConditioning,
  personalizeMethods,
  softMethods,
  searchStrategies,
  conditioningModes,
  DEFAULT_EARLY_FRACTION,
  DEFAULT_EARLY_KEEP,
  type PersonalizeMethod,
  type PersonalizeRequest,
  type PersonalizeRequestDraft,
  type PersonalizeResult,
  type PersonalizeCandidate,
  type PersonalizeSettings,
  type SearchStrategy,
  type SoftRequest,
  type SoftRecord,
} from './personalize/personalize.js';
// The soft preference branch (docs/soft.md).
export type { LlmBody, LlmBodyConfig, PrefixCache } from './spec/llm-body.js';
export { loadLlmBody, OnnxLlmBody, type LoadLlmBodyOptions, type BodyPass } from './runtime/llm-body.js';
export { llmBodyFingerprint } from './runtime/llm-body-embeddings.js';
export { prepareSoft, type PrepareSoftOptions, type PreparedBody } from './runtime/prepare-soft.js';
export { readSoftModule, writeSoftModule, softModuleInMemory, softTensorShapes, type SoftModule, type SoftTensors } from './soft/soft-module.js';
export {
  readSoftConfig,
  prefixWidth,
  SOFT_CONFIG_FILE,
  SOFT_WEIGHTS_FILE,
  type SoftConfig,
  type Reparameterisation,
  type GeneratorFamily,
} from './soft/soft-config.js';
export { initSoftModule, DEFAULT_PREFIX, DEFAULT_TOKENS, type SoftInitOptions, type SoftModuleTarget } from './soft/soft-init.js';
export { importSoftWeights, SOFT_IMPORT_NAMES } from './soft/soft-import.js';
export { prefixTable, prefixCacheOf, modulePrefixCache } from './soft/prefix-cache.js';
export { computeSoftTokens, weightedSoftTokens, type SoftTokens, type SoftTokensInput } from './soft/soft-embeddings.js';
export { openSoftCache, memorySoftCache, softCacheKey, type SoftCache } from './soft/soft-cache.js';
export { checkSoftLlm, checkSoftGenerator, checkSoftScene } from './soft/soft-fit.js';
export { checkGenerationJob, type GenerationJob, type GenerationJobSoft } from './jobs/generation-job.js';
export { jobToPersonalizeRequest, type JobRuntime } from './jobs/job-request.js';
export { openJobService, type JobServiceInternals } from './service/job-service.js';
export type {
  JobService,
  JobServiceOptions,
  JobRecord,
  JobEvent,
  JobEventType,
  JobKind,
  JobState,
  JobProgress,
  JobError,
  Txt2ImgJob,
  ServiceModels,
} from './service/job-types.js';
export { ModelRegistry, type Lease, type ModelRegistryOptions } from './runtime/model-registry.js';
export { writeResultFolder, resultJson, candidateImageName, type ResultFiles } from './personalize/result-files.js';
export { scoreCandidates, clipLogit, keywordText, type ClipScoringModel, type CandidateScores, type ScoringTexts } from './scoring/clip-scorer.js';
export { benchSearch, formatSearchBench, SEARCH_BENCH_DEFAULTS, type SearchBenchOptions, type SearchBenchResult, type SearchBenchRow } from './bench/search.js';
export { selectBest, zScore, clampLogit, checkAlpha, LOGIT_EPSILON, DEFAULT_ALPHA, type CandidateWeights, type ScoredCandidate } from './scoring/selection.js';
export {
  planCandidates,
  checkWeights,
  scenePrefix,
  targetPromptText,
  defaultRepeatWeights,
  defaultEmbedWeights,
  negativePrompts,
  type ConditioningMode,
  type CandidatePlan,
  type ConditioningInput,
} from './personalize/conditioning.js';
export { promptStyles, promptStyle, promptStyleNames, DEFAULT_PROMPT_STYLE, type PromptStyle, type PromptStyleName } from './personalize/prompt-styles.js';
export { validateRequestShape } from './personalize/request-validation.js';
export { readableMovieTitle } from './data/movie-title.js';
export * from './experiments/index.js';
export { benchEvalStages, formatEvalStages, type EvalStagesResult, type EvalStageShare } from './bench/eval-stages.js';
export * from './rec/index.js';
export { readSampleFile } from './data/sample-file.js';
