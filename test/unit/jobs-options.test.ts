import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COCO_LABELS } from '../../src/inference/coco-labels.js';
import {
  closestLabel,
  editDistance,
  parseJobOptions,
  unknownLabelsSentence,
} from '../../src/services/jobs-options.js';

const deps = {
  modelLabels: (name: string) =>
    name === 'centernet' ? COCO_LABELS : name === 'tiny' ? ['cat', 'dog'] : null,
  callbackAllowlist: null,
};
const parse = (fields: Record<string, string[]>) => parseJobOptions(new Map(Object.entries(fields)), deps);

describe('labels are checked against the model', () => {
  test("the model's labels pass; the model chosen decides", () => {
    assert.deepEqual(parse({ labels: ['person, car'] }).labels, ['person', 'car']);
    assert.deepEqual(parse({ labels: ['dog'], model: ['tiny'] }).labels, ['dog']);
    assert.throws(() => parse({ labels: ['person'], model: ['tiny'] }), {
      code: 'INVALID_OPTION',
      message: 'labels: "person" is not a label of model tiny; GET /v1/models lists its labels.',
    });
  });
  test('an unknown model is refused before its labels are looked at', () => {
    assert.throws(() => parse({ labels: ['x'], model: ['nope'] }), {
      message: /model "nope" is not a known model/,
    });
  });
  test('editDistance and closestLabel', () => {
    assert.equal(editDistance('persn', 'person'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('a', 'abcdefgh', 2), 3, 'stops early past max');
    assert.equal(closestLabel('persn', COCO_LABELS), 'person');
    assert.equal(closestLabel('Person', COCO_LABELS), 'person');
    assert.equal(closestLabel('unicorn', COCO_LABELS), null);
    assert.equal(closestLabel('cxx', ['car', 'cat']), null, 'short names: one edit at most');
  });
  test('the sentence names every unknown label (five at most) and ends with a period', () => {
    assert.equal(
      unknownLabelsSentence(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'], 'm', ['zzz']),
      'labels: "a1", "a2", "a3", "a4", "a5" and 2 more are not labels of model m; GET /v1/models lists its labels.',
    );
  });
});
