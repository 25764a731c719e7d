export { type JsonConstraintFactory, type JsonConstraintOptions, jsonConstraint } from './processor.js';
export { type RecognizerLimits, type RecognizerState, JsonRecognizer } from './recognizer.js';
export { UnsupportedSchemaError, compileSchema } from './schema.js';
export { type SchemaNode } from './nodes.js';
export { type TokenVocabulary, type VocabularySource, byteLevelDecoder, tokenVocabulary } from './vocabulary.js';
