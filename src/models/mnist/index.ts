/** The MNIST model zoo: autoencoders, VAE, GANs, their training runs, and FID evaluation. */
export { mnistModels, isMnistModelName, loadRunModel } from './registry.js';
export type { ConditionalSampleOptions, Metrics, MnistModel, MnistModelName, MnistModelSpec, MnistTrainer, TrainingState, TrainSettings } from './spec.js';
export { MNIST_PIXELS } from './spec.js';
export { trainRun, runData, readRunInfo, isResumableRun, NothingToResumeError, VALIDATION_COUNT, type RunOptions, type RunResult, type RunInfo } from './run.js';
export { RunFileError, type RunSettings } from './run-file.js';
export { evaluateRun, type EvalOptions, type EvalResult } from './evaluate.js';
export { featureStats, frechetDistance, fidFromFeatures, type FeatureStats } from './fid.js';
export { buildClassifier, featureExtractor, classifierCacheDir, loadOrTrainClassifier, type Classifier } from './classifier.js';
export { autoencoder, buildAutoencoder } from './autoencoder.js';
export { convAutoencoder, buildConvAutoencoder } from './conv-autoencoder.js';
export { vae, buildVaeEncoder, buildVaeDecoder, vaeLoss } from './vae.js';
export { gan, buildGenerator, buildDiscriminator } from './gan.js';
export { dcgan, buildDcganGenerator, buildDcganDiscriminator } from './dcgan.js';
export { discriminatorLoss, generatorLoss, type GanArchitecture } from './adversarial.js';
export { diffusion, buildDiffusionModel, DEFAULT_GUIDANCE, DEFAULT_STEPS } from './diffusion/model.js';
export { NoiseSchedule, ddimTimesteps, sampleDdim, sampleDdpm, type NoisePredictor } from './diffusion/schedule.js';
export { UNet, NULL_CLASS } from './diffusion/unet.js';
export { digitFromPrompt, DigitPromptError, DIGIT_WORDS } from './diffusion/prompt.js';
