/**
 * llama.cpp's tensor names → the Hugging Face names of the Llama spec, and
 * undoing its converter's Q/K permutation. ggml lists dims innermost first,
 * so a GGUF [K, N] matrix is the row-major [N, K] (nn.Linear's [out, in])
 * byte for byte, quantized or not; only the name and the order of rows change.
 */
import { GgufError } from '../../io/gguf/errors.js';

const LAYER: Readonly<Record<string, string>> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

const GLOBAL: Readonly<Record<string, string>> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

/** The HF name of a GGUF tensor; `file` names the file in the error for a tensor the Llama family does not have. */
export function hfTensorName(name: string, file: string): string {
  const global = GLOBAL[name];
  if (global) return global;
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  const mapped = m && LAYER[m[2]!];
  if (!m || !mapped) {
    const why = name === 'rope_freqs.weight' ? " (Llama 3.1's RoPE frequency factors)" : '';
    throw new GgufError(file, `tensor '${name}'${why} is not part of a Llama/Qwen2 model this loader maps`, undefined, name);
  }
  return `model.layers.${m[1]}.${mapped}.${m[3]}`;
}

/**
 * Undo llama.cpp's permute() of Q or K: within each of `heads` heads it moved
 * row s·(d/2) + j (s ∈ {0, 1}, j < d/2, d the head size) to row 2j + s, so the
 * rotary pairs sit side by side. Rows move whole, so quantized rows move as
 * stored; `rowBytes` is one row's size.
 */
export function unpermuteRows(bytes: Uint8Array, rows: number, rowBytes: number, heads: number): Uint8Array {
  const d = rows / heads;
  if (!Number.isInteger(d) || d % 2 !== 0) throw new RangeError(`unpermuteRows: ${rows} rows do not split into ${heads} heads of an even size`);
  const out = new Uint8Array(bytes.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < d / 2; j++) {
      for (let s = 0; s < 2; s++) {
        const from = h * d + 2 * j + s;
        const to = h * d + s * (d / 2) + j;
        out.set(bytes.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return out;
}


/** The GGUF name of an HF tensor name of the Llama spec (for errors about tensors a file lacks). */
export function ggufTensorName(hf: string): string {
  for (const [gguf, name] of Object.entries(GLOBAL)) if (name === hf) return gguf;
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  const short = m && Object.entries(LAYER).find(([, v]) => v === m[2])?.[0];
  return m && short ? `blk.${m[1]}.${short}.${m[3]}` : hf;
}
