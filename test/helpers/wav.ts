/** WAV files for audio tests, written by wavefile (an encoder independent of Forja's reader). */
import { createRequire } from 'node:module';

const { WaveFile } = createRequire(import.meta.url)('wavefile') as typeof import('wavefile');

/** A WAV made by wavefile from integer (or float) samples, interleaved per frame; depth '8'|'16'|'24'|'32'|'32f'|'64'. */
export function wavBytes(channels: number, rate: number, depth: string, samples: number[]): Uint8Array {
  const wav = new WaveFile();
  const perChannel = Array.from({ length: channels }, (_, c) => samples.filter((_, i) => i % channels === c));
  wav.fromScratch(channels, rate, depth, channels === 1 ? samples : perChannel);
  return wav.toBuffer();
}
