/**
 * Text to a digit class for the class-conditional diffusion model: "7", "a seven", "un siete",
 * "the number 3", "dígito cero". A small fixed vocabulary of English and Spanish number words,
 * not a language model; anything else is refused with the words it knows.
 */

const NUMBER_WORDS: Readonly<Record<string, number>> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9,
  cero: 0, uno: 1, un: 1, una: 1, dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9,
};
/** Words a prompt may carry around its number: articles and "digit"/"number" in both languages. */
const FILLER = new Set(['a', 'an', 'the', 'digit', 'number', 'of', 'el', 'la', 'los', 'las', 'digito', 'numero', 'del', 'de', 'draw', 'dibuja', 'image', 'imagen', 'picture']);
/** Spanish "un"/"una" are also the indefinite article: "un siete" is a seven, not a one and a seven. */
const ARTICLE_OR_ONE = new Set(['un', 'una']);

export class DigitPromptError extends Error {
  override name = 'DigitPromptError';
}

/** The English and Spanish words `digitFromPrompt` reads, for messages. */
export const DIGIT_WORDS: readonly string[] = Object.keys(NUMBER_WORDS);

/** The digit (0–9) a short prompt names. */
export function digitFromPrompt(prompt: string): number {
  const words = prompt
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  const unknown = words.filter((w) => !(w in NUMBER_WORDS) && !/^[0-9]$/.test(w) && !FILLER.has(w));
  if (unknown.length > 0) throw new DigitPromptError(`prompt "${prompt}": '${unknown[0]}' is not a digit word (known: 0-9, ${DIGIT_WORDS.join(', ')})`);
  let numbers = words.filter((w) => w in NUMBER_WORDS || /^[0-9]$/.test(w));
  if (numbers.length > 1 && ARTICLE_OR_ONE.has(numbers[0]!)) numbers = numbers.slice(1);
  if (numbers.length === 0) throw new DigitPromptError(`prompt "${prompt}" names no digit (say "7", "a seven" or "un siete")`);
  const digits = [...new Set(numbers.map((w) => NUMBER_WORDS[w] ?? Number(w)))];
  if (digits.length > 1) throw new DigitPromptError(`prompt "${prompt}" names more than one digit (${digits.join(', ')}); the model draws one class at a time`);
  return digits[0]!;
}
