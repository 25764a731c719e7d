/** The activations vision encoders name, over the shared transformer ones. */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { ACTIVATIONS, type Activation } from '../transformer/layers.js';

/** CLIP's x·σ(1.702x), a cheaper GELU it was trained with. */
const quickGelu = (x: Tensor): Tensor => F.mul(x, F.sigmoid(F.mul(x, 1.702)));

export const VIT_ACTIVATIONS: Readonly<Record<string, Activation>> = { ...ACTIVATIONS, quick_gelu: quickGelu };
