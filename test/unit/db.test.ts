import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { isUniqueViolation } from '../../src/db/index.js';
import { createMigrator } from '../../src/db/migrations.js';
import { createRepositories } from '../../src/db/repositories/index.js';
import type { VideoProbe } from '../../src/media/probe.js';
import { createTestDatabase, DB_KINDS, type TestDatabase } from '../helpers/server.js';

for (const kind of DB_KINDS) {
  describe(`database (${kind})`, () => {
    let tdb: TestDatabase;
    before(async () => {
      tdb = await createTestDatabase(kind);
    });
    after(async () => {
      await tdb?.drop();
    });

    it('is migrated and migrations are idempotent', async () => {
      const m = await createMigrator(tdb.handle.db).migrateToLatest();
      assert.equal(m.error, undefined);
      assert.deepEqual(m.results, []);
      const tables = await sql<{
        table_name: string;
      }>`select table_name from information_schema.tables where table_schema = 'public' order by 1`.execute(
        tdb.handle.db,
      );
      const names = tables.rows.map((r) => r.table_name);
      for (const t of ['users', 'refresh_tokens', 'jobs', 'job_chunks', 'frames'])
        assert.ok(names.includes(t), t);
    });

    it('transactions commit and roll back, and concurrent ones do not interleave', async () => {
      const repos = createRepositories(tdb.handle.db);
      const db = tdb.handle.db;
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx
            .insertInto('users')
            .values({ id: randomUUID(), username: 'rolled_back', password_hash: 'x' })
            .execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await repos.users.findByUsername('rolled_back'), undefined);
      // 10 concurrent transactions each read-modify-write a counter row: serialized, none lost
      await db
        .insertInto('users')
        .values({ id: randomUUID(), username: 'counter', password_hash: '0' })
        .execute();
      await Promise.all(
        Array.from({ length: 10 }, () =>
          db.transaction().execute(async (trx) => {
            const row = await trx
              .selectFrom('users')
              .select('password_hash')
              .where('username', '=', 'counter')
              .forUpdate()
              .executeTakeFirstOrThrow();
            await new Promise((r) => setTimeout(r, 2));
            await trx
              .updateTable('users')
              .set({ password_hash: String(Number(row.password_hash) + 1) })
              .where('username', '=', 'counter')
              .execute();
          }),
        ),
      );
      assert.equal((await repos.users.findByUsername('counter'))?.password_hash, '10');
    });

    it('reports unique violations the same way on both drivers', async () => {
      const repos = createRepositories(tdb.handle.db);
      await repos.users.create({ id: randomUUID(), username: 'dup', passwordHash: 'x' });
      await assert.rejects(
        repos.users.create({ id: randomUUID(), username: 'dup', passwordHash: 'x' }),
        (e) => isUniqueViolation(e),
      );
    });

    it('jobs repository: create, owner scoping, keyset paging, counts, cascade', async () => {
      const repos = createRepositories(tdb.handle.db);
      const u = await repos.users.create({ id: randomUUID(), username: 'owner', passwordHash: 'x' });
      const other = await repos.users.create({ id: randomUUID(), username: 'other', passwordHash: 'x' });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const id = randomUUID();
        ids.push(id);
        const row = await repos.jobs.create({
          id,
          userId: u.id,
          videoKey: `videos/${id}`,
          originalName: 'a.mp4',
          sizeBytes: 5_000_000_000,
          sha256: 'f'.repeat(64),
          probe: { formatName: 'mov', list: [1, 2] } as unknown as VideoProbe,
          options: { fps: null, minScore: 0.3, labels: ['a'], model: 'centernet', callbackUrl: null },
        });
        assert.equal(row.sizeBytes, 5_000_000_000);
        assert.deepEqual(row.probe, { formatName: 'mov', list: [1, 2] });
        assert.deepEqual(row.options.labels, ['a']);
        assert.equal(row.status, 'queued');
        assert.ok(row.createdAt instanceof Date);
      }
      assert.equal(await repos.jobs.getForOwner(ids[0], other.id), undefined);
      assert.ok(await repos.jobs.getForOwner(ids[0], u.id));
      const p1 = await repos.jobs.listByOwner(u.id, { limit: 3 });
      assert.deepEqual(
        p1.map((r) => r.id),
        [...ids].reverse().slice(0, 3),
      );
      const last = p1[2];
      const p2 = await repos.jobs.listByOwner(u.id, {
        limit: 3,
        after: { createdAt: last.createdAt, id: last.id },
      });
      assert.deepEqual(
        p2.map((r) => r.id),
        [ids[0]],
      );
      const counts = await repos.jobs.countByStatus();
      assert.equal(counts.queued, 4);
      assert.equal(counts.completed, 0);
      const canceled = await repos.jobs.cancel(ids[1], u.id);
      assert.equal(canceled?.status, 'canceled');
      await tdb.handle.db
        .insertInto('frames')
        .values({ job_id: ids[2], frame_index: 0, timestamp: 0, detections: '[]' })
        .execute();
      assert.equal(await repos.jobs.delete(ids[2], other.id), false);
      assert.equal(await repos.jobs.delete(ids[2], u.id), true);
      const frames = await tdb.handle.db.selectFrom('frames').selectAll().execute();
      assert.equal(frames.length, 0);
      await assert.rejects(
        tdb.handle.db
          .updateTable('jobs')
          .set({ status: 'bogus' as never })
          .where('id', '=', ids[0])
          .execute(),
        'status check constraint',
      );
    });
  });
}
