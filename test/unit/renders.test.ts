import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureReason } from '../../src/pipeline/failures.js';
import { createJobScheduler, taskOptions } from '../../src/pipeline/next.js';
import type { EnqueueOptions, TaskName, TaskPayloads } from '../../src/queue/port.js';
import { renderOptions, renderSubject } from '../../src/services/renders.js';
import { renderFolder, renderKey } from '../../src/storage/keys.js';

const LABELS = ['person', 'cup', 'dining table'];

describe('renders: options, links, keys and the render task', () => {
  it('renderOptions: labels checked against the model (with a suggestion), duplicates dropped, tracks sorted', () => {
    assert.deepEqual(renderOptions({}, 'centernet', LABELS), { labels: null, minScore: null, tracks: null });
    assert.deepEqual(
      renderOptions(
        { labels: ['cup', 'person', 'cup'], minScore: 0.4, tracks: [9, 2, 9] },
        'centernet',
        LABELS,
      ),
      { labels: ['cup', 'person'], minScore: 0.4, tracks: [2, 9] },
    );
    assert.deepEqual(renderOptions({ labels: [], tracks: [] }, 'centernet', LABELS), {
      labels: null,
      minScore: null,
      tracks: null,
    });
    assert.throws(
      () => renderOptions({ labels: ['persn'] }, 'centernet', LABELS),
      /labels: "persn" is not a label of model centernet \(did you mean "person"\?\)/,
    );
    // a model no longer installed: nothing to check against
    assert.deepEqual(renderOptions({ labels: ['x'] }, 'gone', null).labels, ['x']);
  });

  it('a render link signs the job and the render together; files live under the job', () => {
    const job = '11111111-1111-4111-8111-111111111111';
    const render = '22222222-2222-4222-8222-222222222222';
    assert.equal(renderSubject(job, render), `${job}/render/${render}`);
    assert.notEqual(renderSubject(job, render), job); // not the video's subject
    assert.equal(renderKey(job, render), `renders/${job}/${render}.mp4`);
    assert.ok(renderKey(job, render).startsWith(`${renderFolder(job)}/`));
  });

  it("the render task: one dedupe id per render, the owner's fairness key, TASK_ATTEMPTS", async () => {
    const retry = { attempts: 3, backoffMs: 500 };
    assert.deepEqual(taskOptions('render', { jobId: 'j', renderId: 'r' }, retry, 'alice'), {
      dedupeId: 'render:j:r',
      attempts: 3,
      backoffMs: 500,
      fairnessKey: 'alice',
    });
    const seen: [TaskName, unknown, EnqueueOptions | undefined][] = [];
    const scheduler = createJobScheduler({
      queue: {
        async enqueue<N extends TaskName>(name: N, payload: TaskPayloads[N], opts?: EnqueueOptions) {
          seen.push([name, payload, opts]);
        },
      },
      retry,
    });
    await scheduler.render({ id: 'j', userId: 'alice' }, 'r');
    assert.deepEqual(seen, [
      [
        'render',
        { jobId: 'j', renderId: 'r' },
        { dedupeId: 'render:j:r', attempts: 3, backoffMs: 500, fairnessKey: 'alice' },
      ],
    ]);
  });

  it("failureReason: a render's sentence is kept as it is; other errors get the render's prefix", () => {
    const e = new Error('The annotated video could not be made: the renderer crashed (SIGSEGV) at 1.2 s.');
    e.name = 'RenderError';
    assert.equal(failureReason('render', {}, e), e.message);
    assert.equal(
      failureReason('render', {}, new Error('disk full at /data/storage/tmp/x.mp4')),
      'The annotated video could not be made: disk full at [path].',
    );
  });
});
