import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hertzToMel, melFilterBank, melToHertz } from '../../src/audio/mel.js';

describe('audio/mel', () => {
  it('Slaney scale: linear 3 mels per 200 Hz below 1 kHz, 27 mels per factor 6.4 above; inverse round trips', () => {
    assert.equal(hertzToMel(200), 3);
    assert.equal(hertzToMel(1000), 15);
    assert.ok(Math.abs(hertzToMel(6400) - 42) < 1e-12);
    for (const hz of [0, 55, 999.9, 1000, 4321, 8000]) assert.ok(Math.abs(melToHertz(hertzToMel(hz)) - hz) < 1e-9, `${hz} Hz`);
  });

  it('filters are unit-area triangles (slaney norm) that tile 0..8 kHz', () => {
    for (const melBins of [80, 128]) {
      const bins = 201;
      const f = melFilterBank({ frequencyBins: bins, melBins, sampleRate: 16000, maxFrequency: 8000 });
      const spacing = 8000 / (bins - 1);
      for (let m = 0; m < melBins; m++) {
        let area = 0;
        let peak = 0;
        for (let k = 0; k < bins; k++) {
          area += f[k * melBins + m]! * spacing;
          peak = Math.max(peak, f[k * melBins + m]!);
        }
        assert.ok(peak > 0, `filter ${m} of ${melBins} is empty`);
        // Only the widest (top) filters span enough 40 Hz bins for their sampled area to approach the integral.
        if (m >= melBins - 20) assert.ok(Math.abs(area - 1) < 0.03, `filter ${m}/${melBins}: area ${area}`);
      }
      assert.equal(f[0 * melBins + 0], 0);
      assert.ok(f[(bins - 1) * melBins + melBins - 1]! === 0, 'last filter ends at 8 kHz');
    }
  });

  it('matches transformers mel_filter_bank(201, 80, 0, 8000, 16000, slaney) at spot values', () => {
    // Edges of filter 0: 0 Hz, 25.0 Hz, 50.0 Hz... in mel: linspace(0, hertzToMel(8000), 82).
    const f = melFilterBank({ frequencyBins: 201, melBins: 80, sampleRate: 16000, maxFrequency: 8000 });
    const step = hertzToMel(8000) / 81;
    const hz = (m: number): number => melToHertz(m * step);
    // Bin 1 is 40 Hz; filter 1 rises over [hz(1), hz(2)] and falls over [hz(2), hz(3)].
    const expected = Math.max(0, Math.min((40 - hz(1)) / (hz(2) - hz(1)), (hz(3) - 40) / (hz(3) - hz(2)))) * (2 / (hz(3) - hz(1)));
    assert.ok(Math.abs(f[1 * 80 + 1]! - expected) < 1e-15);
    assert.ok(expected > 0);
  });
});
