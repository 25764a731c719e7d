/**
 * POST /v1/images/generations in OpenAI's format, from Forja's MNIST models: the class-conditional diffusion
 * model draws the digit the prompt names ("7", "a seven", "un siete"), the GAN, DCGAN and VAE draw digits from
 * noise. Images come back as base64 PNG (`b64_json`): the server keeps no files, so there are no URLs. Sizes
 * are the model's 28×28 and its nearest-neighbour enlargements. Forja's extensions, for the studio: `digit`
 * (0-9, or "all" for one row per digit), `guidance`, `steps`, `sampler`, `eta`, `seed`, and `grid` (one PNG of
 * every image instead of one per image).
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DigitPromptError, digitFromPrompt, MNIST_PIXELS, type ConditionalSampleOptions } from '../../../models/mnist/index.js';
import { imageGridPng } from '../../../viz/index.js';
import type { ServerContext } from '../app.js';
import { badRequest } from '../errors.js';
import { Serial, type MediaModels, type ServedImageModel } from '../media-models.js';

const SIDE = 28;
/** Enlargements offered, as OpenAI's "WxH" sizes. */
export const IMAGE_SCALES = [1, 2, 4, 8] as const;
export const IMAGE_SIZES: readonly string[] = IMAGE_SCALES.map((s) => `${SIDE * s}x${SIDE * s}`);
/** Images per request; a 10×10 grid of every digit is the largest the studio asks for. */
export const MAX_IMAGES = 100;
const DIGITS = 10;

export interface ImagesBody {
  prompt: string;
  model?: string;
  n?: number;
  size?: string;
  response_format?: 'b64_json' | 'url';
  user?: string;
  digit?: number | 'all';
  guidance?: number;
  steps?: number;
  sampler?: 'ddim' | 'ddpm';
  eta?: number;
  seed?: number;
  grid?: boolean;
}

export const imagesSchema = {
  type: 'object',
  required: ['prompt'],
  additionalProperties: false,
  properties: {
    prompt: { type: 'string', maxLength: 1000 },
    model: { type: 'string', minLength: 1 },
    n: { type: 'integer', minimum: 1, maximum: MAX_IMAGES },
    size: { type: 'string' },
    response_format: { type: 'string', enum: ['b64_json', 'url'] },
    user: { type: 'string' },
    digit: { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'string', enum: ['all'] }] },
    guidance: { type: 'number', minimum: 0, maximum: 100 },
    steps: { type: 'integer', minimum: 1, maximum: 1000 },
    sampler: { type: 'string', enum: ['ddim', 'ddpm'] },
    eta: { type: 'number', minimum: 0, maximum: 1 },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 32 - 1 },
    grid: { type: 'boolean' },
  },
} as const;

export interface ImagesResponse {
  created: number;
  data: { b64_json: string; revised_prompt: string }[];
  /** Forja: the seed drawn with, so a studio can repeat a picture. */
  seed: number;
}

/** What to draw, decided from the body before any model runs. */
export interface ImagePlan {
  /** Digit per image for a conditional model; undefined for one drawing from noise. */
  labels?: number[];
  count: number;
  scale: number;
  seed: number;
  grid: boolean;
  /** Grid columns: 10 (one row per digit) for digit "all". */
  gridCols?: number;
  options: Omit<ConditionalSampleOptions, 'seed'>;
  described: string;
}

const CONDITIONAL_FIELDS = ['digit', 'guidance', 'steps', 'sampler', 'eta'] as const;

export function scaleOf(size: string | undefined): number {
  if (size === undefined) return 1;
  const at = IMAGE_SIZES.indexOf(size);
  if (at < 0) throw badRequest(`'size' ${JSON.stringify(size)} is not one this model makes; sizes: ${IMAGE_SIZES.join(', ')} (28×28 digits, enlarged)`, 'size');
  return IMAGE_SCALES[at]!;
}

/** The body checked against what `model` can do, as a plan to draw. */
export function planImages(body: ImagesBody, model: Pick<ServedImageModel, 'id' | 'kind' | 'model'>, seed = body.seed ?? randomInt(2 ** 32 - 1)): ImagePlan {
  if (body.response_format === 'url') throw badRequest("'response_format' url is not served: this server keeps no image files; use b64_json", 'response_format');
  const scale = scaleOf(body.size);
  const n = body.n ?? 1;
  const grid = body.grid ?? false;
  if (!model.model.sampleDigits) {
    const given = CONDITIONAL_FIELDS.find((f) => body[f] !== undefined);
    if (given) throw badRequest(`'${given}' needs a class-conditional model; \`${model.id}\` is a ${model.kind} run, which draws random digits`, given);
    return { count: n, scale, seed, grid, options: {}, described: `random digits (${model.id} is an unconditional ${model.kind})` };
  }
  const options = {
    ...(body.guidance !== undefined && { guidance: body.guidance }),
    ...(body.steps !== undefined && { steps: body.steps }),
    ...(body.sampler !== undefined && { sampler: body.sampler }),
    ...(body.eta !== undefined && { eta: body.eta }),
  };
  if (body.digit === 'all') {
    if (n * DIGITS > MAX_IMAGES) throw badRequest(`'digit' all draws n of each digit: n ${n} makes ${n * DIGITS} images, over the ${MAX_IMAGES} a request may draw; n at most ${MAX_IMAGES / DIGITS}`, 'n');
    const labels = Array.from({ length: n * DIGITS }, (_, i) => Math.floor(i / n));
    return { labels, count: labels.length, scale, seed, grid, gridCols: n, options, described: `${n} of each digit, one row per digit` };
  }
  let digit = body.digit;
  if (digit === undefined) {
    try {
      digit = digitFromPrompt(body.prompt);
    } catch (err) {
      if (err instanceof DigitPromptError) throw badRequest(`${err.message}; or pass 'digit'`, 'prompt');
      throw err;
    }
  }
  return { labels: new Array<number>(n).fill(digit), count: n, scale, seed, grid, options, described: `the digit ${digit}` };
}

/** The images of a plan, drawn. */
export async function drawImages(model: ServedImageModel, plan: ImagePlan): Promise<Float32Array> {
  const m = model.model;
  if (plan.labels) return m.sampleDigits!(plan.labels, { seed: plan.seed, ...plan.options });
  return m.sample!(plan.count, plan.seed);
}

/** One PNG per image, or one grid of all of them. */
export function pngs(images: Float32Array, plan: Pick<ImagePlan, 'count' | 'scale' | 'grid' | 'gridCols'>): Buffer[] {
  const geometry = { rows: SIDE, cols: SIDE, scale: plan.scale };
  if (plan.grid) return [imageGridPng(images, { ...geometry, count: plan.count, ...(plan.gridCols !== undefined && { gridCols: plan.gridCols }) })];
  return Array.from({ length: plan.count }, (_, i) => imageGridPng(images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), { ...geometry, count: 1, pad: 0 }));
}

export function imagesResponse(png: readonly Buffer[], plan: Pick<ImagePlan, 'seed' | 'described'>, created = Math.floor(Date.now() / 1000)): ImagesResponse {
  return { created, data: png.map((p) => ({ b64_json: p.toString('base64'), revised_prompt: plan.described })), seed: plan.seed };
}

/** The image model a request names; with one image model served, `model` may be left out. */
export function imageModelFor(media: MediaModels, model: string | undefined, allNames: readonly string[]): ServedImageModel {
  if (model === undefined) {
    if (media.images.length === 1) return media.images[0]!;
    throw badRequest(`'model' is required: this server serves ${media.images.length === 0 ? 'no image models' : `several image models (${media.images.map((m) => m.id).join(', ')})`}`, 'model');
  }
  return media.pick(media.images, model, 'generate images', allNames);
}

export function registerImagesRoute(app: FastifyInstance, ctx: ServerContext, media: MediaModels): void {
  const queues = new Map(media.images.map((m) => [m.id, new Serial()]));
  app.post<{ Body: ImagesBody }>('/v1/images/generations', { schema: { body: imagesSchema } }, async (request) => {
    const served = imageModelFor(media, request.body.model, ctx.models().map((m) => m.id));
    const plan = planImages(request.body, served);
    const images = await queues.get(served.id)!.run(() => drawImages(served, plan));
    return imagesResponse(pngs(images, plan), plan);
  });
}
