import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { languageOf, languageToken, UnknownLanguageError, WHISPER_LANGUAGES, whisperTokens } from '../../../src/models/whisper/tokens.js';
import { Tokenizer } from '../../../src/text/tokenizer.js';
import { whisperTokenizerJson } from '../../helpers/whisper.js';

describe('models/whisper/tokens', () => {
  it('the fixed multilingual layout (whisper-tiny … large-v2, 51865 ids)', () => {
    const t = whisperTokens({ vocabSize: 51865, decoderStartTokenId: 50258, eosTokenId: 50257 });
    assert.equal(t.languages.size, 99);
    assert.deepEqual([t.languages.get('en'), t.languages.get('es'), t.languages.get('su')], [50259, 50262, 50357]);
    assert.equal(t.languages.has('yue'), false);
    assert.deepEqual(t.tasks, { translate: 50358, transcribe: 50359 });
    assert.deepEqual([t.noTimestamps, t.timestampBegin, t.multilingual], [50363, 50364, true]);
    assert.equal(t.timestampBegin + 1500, 51864, '<|30.00|> is the last id');
  });

  it('large-v3 (51866 ids) adds Cantonese and shifts the rest by one; .en models (51864) are English-only', () => {
    const v3 = whisperTokens({ vocabSize: 51866, decoderStartTokenId: 50258, eosTokenId: 50257 });
    assert.deepEqual([v3.languages.get('yue'), v3.tasks.translate, v3.tasks.transcribe, v3.noTimestamps], [50358, 50359, 50360, 50364]);
    const en = whisperTokens({ vocabSize: 51864, decoderStartTokenId: 50257, eosTokenId: 50256 });
    assert.deepEqual([en.noTimestamps, en.timestampBegin, en.multilingual], [50362, 50363, false]);
  });

  it('generation_config.json (lang_to_id, task_to_id, no_timestamps_token_id) wins over the layout', () => {
    const t = whisperTokens({
      vocabSize: 51865, decoderStartTokenId: 50258, eosTokenId: 50257,
      generationConfig: { lang_to_id: { '<|en|>': 7, '<|es|>': 9 }, task_to_id: { transcribe: 11, translate: 12 }, no_timestamps_token_id: 20, is_multilingual: true },
    });
    assert.deepEqual([...t.languages], [['en', 7], ['es', 9]]);
    assert.deepEqual([t.tasks.transcribe, t.tasks.translate, t.noTimestamps, t.timestampBegin], [11, 12, 20, 21]);
  });

  it("a tokenizer's added tokens give the ids when generation_config has none", () => {
    const tokenizer = new Tokenizer({ tokenizerJson: whisperTokenizerJson() });
    assert.equal(tokenizer.tokenToId('<|es|>'), 50262);
    // A shifted vocabulary: only the tokenizer knows where the tokens are.
    const t = whisperTokens({ vocabSize: 60000, decoderStartTokenId: 50258, eosTokenId: 50257, tokenizer });
    assert.deepEqual([t.languages.get('es'), t.tasks.transcribe, t.noTimestamps], [50262, 50359, 50363]);
  });

  it('languageToken takes codes, names and <|code|>; unknown ones name the known codes', () => {
    const t = whisperTokens({ vocabSize: 51865, decoderStartTokenId: 50258, eosTokenId: 50257 });
    assert.equal(languageToken(t, 'es'), 50262);
    assert.equal(languageToken(t, 'Spanish'), 50262);
    assert.equal(languageToken(t, '<|es|>'), 50262);
    assert.equal(languageOf(t, 50262), 'es');
    assert.throws(() => languageToken(t, 'xx'), (e: unknown) => e instanceof UnknownLanguageError && e.language === 'xx' && e.known.length === 99 && /unknown language 'xx'/.test(e.message));
    assert.throws(() => languageToken(t, 'yue'), UnknownLanguageError, 'Cantonese only exists in large-v3');
    assert.equal(WHISPER_LANGUAGES.length, 100);
  });
});
