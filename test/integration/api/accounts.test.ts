/**
 * Accounts for many users (issue 10): usernames unique without regard to case (and the migration
 * that makes them so on a database that already has `Bob` and `bob`), the password policy, and
 * the purge of expired refresh tokens. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createMigrator, migrateToLatest } from '../../../src/db/migrations.js';
import { passwordProblem } from '../../../src/services/auth.js';
import { assertError, call, registerAndLogin, uniqueName } from '../../helpers/http.js';
import {
  createTestDatabase,
  DB_KINDS,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

describe('the password policy (pure)', () => {
  it('wants 12+ characters, 5+ different ones, and not the username', () => {
    assert.match(passwordProblem('short pass', 'ana') ?? '', /at least 12 characters/);
    assert.match(passwordProblem('aaaaaaaaaaaaaaaa', 'ana') ?? '', /5 different characters/);
    assert.match(passwordProblem('abababababababab', 'ana') ?? '', /5 different characters/);
    assert.match(passwordProblem('my-Bobcat-2024!', 'bobcat') ?? '', /must not contain the username/);
    assert.equal(passwordProblem('correct horse battery', 'ana'), null);
    // characters, not UTF-16 units: twelve emoji are twelve characters
    assert.equal(passwordProblem('🐴🔋📎🦀🐙🦉🐝🦋🐢🦔🐳🦖', 'ana'), null);
  });
});

for (const kind of DB_KINDS) {
  describe(`accounts (${kind})`, () => {
    let tdb: TestDatabase;
    let srv: TestServer;
    let base: string;
    before(async () => {
      tdb = await createTestDatabase(kind);
      srv = await startServer(tdb);
      base = srv.url;
    });
    after(async () => {
      await srv?.close();
      await tdb?.drop();
    });

    it('refuses a weak password at registration with the rule it breaks', async () => {
      const username = uniqueName('weak');
      for (const [password, rule] of [
        ['aaaaaaaaaaaa', /5 different characters/],
        [`${username}!!`, /username/],
      ] as const) {
        const res = await call(base, 'POST', '/v1/auth/register', { json: { username, password } });
        assertError(res, 400, password.length < 12 ? 'VALIDATION_ERROR' : 'WEAK_PASSWORD');
        assert.match(res.body.error.message, rule);
      }
      const short = await call(base, 'POST', '/v1/auth/register', {
        json: { username, password: 'aaaaaaaa' },
      });
      assertError(short, 400, 'VALIDATION_ERROR');
      assert.equal(short.body.error.message, 'body/password must be at least 12 characters long.');
    });

    it('Bob and bob are one name: the second is a 409, and either spelling logs in', async () => {
      const name = uniqueName('Bob');
      const password = 'correct horse battery';
      assert.equal(
        (await call(base, 'POST', '/v1/auth/register', { json: { username: name, password } })).status,
        201,
      );
      assertError(
        await call(base, 'POST', '/v1/auth/register', { json: { username: name.toLowerCase(), password } }),
        409,
        'USERNAME_TAKEN',
      );
      for (const spelling of [name, name.toLowerCase(), name.toUpperCase()]) {
        const login = await call(base, 'POST', '/v1/auth/login', { json: { username: spelling, password } });
        assert.equal(login.status, 200, `${spelling}: ${login.text}`);
        const me = await call(base, 'GET', '/v1/auth/me', { token: login.body.accessToken });
        assert.equal(me.body.user.username, name, 'the name as it was registered');
      }
    });

    it('an old account with a shorter password still logs in (the policy is for new passwords)', async () => {
      const s = await registerAndLogin(base);
      // as if made before the policy: an 8-character password
      const hasher = (await import('../../../src/services/auth-hasher.js')).createArgon2Hasher(
        srv.config.argon2,
      );
      await tdb.handle.db
        .updateTable('users')
        .set({ password_hash: await hasher.hash('old-pass') })
        .where('id', '=', s.userId)
        .execute();
      const login = await call(base, 'POST', '/v1/auth/login', {
        json: { username: s.username, password: 'old-pass' },
      });
      assert.equal(login.status, 200, login.text);
    });

    it('housekeeping deletes expired refresh tokens and keeps live ones', async () => {
      const a = await registerAndLogin(base);
      const b = await registerAndLogin(base);
      await tdb.handle.db
        .updateTable('refresh_tokens')
        .set({ expires_at: new Date(Date.now() - 60_000) })
        .where('user_id', '=', a.userId)
        .execute();
      const count = async (userId: string) =>
        (
          await tdb.handle.db
            .selectFrom('refresh_tokens')
            .select('id')
            .where('user_id', '=', userId)
            .execute()
        ).length;
      assert.equal(await count(a.userId), 1);
      const swept = await srv.rt.services.housekeeping.runOnce();
      assert.ok(swept.refreshTokens >= 1, JSON.stringify(swept));
      assert.equal(await count(a.userId), 0, 'the expired token is gone');
      assert.equal(await count(b.userId), 1, 'the live one stays');
      assert.equal(
        (await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: b.refreshToken } })).status,
        200,
      );
      assertError(
        await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: a.refreshToken } }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
    });
  });

  describe(`migration 0002 on a database that has Bob, bob and BOB (${kind})`, () => {
    let tdb: TestDatabase;
    before(async () => {
      tdb = await createTestDatabase(kind); // migrated to the latest: roll back to the first
    });
    after(async () => {
      await tdb?.drop();
    });

    it('keeps the oldest name, renames the others name~n, then enforces case-insensitive uniqueness', async () => {
      const db = tdb.handle.db;
      const down = await createMigrator(db).migrateTo('0001_initial');
      assert.equal(down.error, undefined, String(down.error));
      const t0 = Date.now();
      const made = [
        { name: 'bob', at: new Date(t0 - 3000) }, // the oldest keeps its name
        { name: 'Bob', at: new Date(t0 - 2000) },
        { name: 'BOB', at: new Date(t0 - 1000) },
        { name: 'alice', at: new Date(t0) },
      ];
      const ids = new Map<string, string>();
      for (const u of made) {
        const id = randomUUID();
        ids.set(u.name, id);
        await db
          .insertInto('users')
          .values({ id, username: u.name, password_hash: 'x', created_at: u.at })
          .execute();
      }
      await migrateToLatest(db);
      const rows = await db.selectFrom('users').select(['id', 'username']).execute();
      const nameOf = (original: string) => rows.find((r) => r.id === ids.get(original))?.username;
      assert.equal(nameOf('bob'), 'bob');
      assert.equal(nameOf('Bob'), 'Bob~2');
      assert.equal(nameOf('BOB'), 'BOB~3');
      assert.equal(nameOf('alice'), 'alice');
      await assert.rejects(
        db.insertInto('users').values({ id: randomUUID(), username: 'ALICE', password_hash: 'x' }).execute(),
        (e: { code?: string }) => e.code === '23505',
      );
      const index = await sql<{ indexdef: string }>`
        select indexdef from pg_indexes where indexname = 'users_username_lower_idx'`.execute(db);
      assert.match(index.rows[0]?.indexdef ?? '', /UNIQUE.*lower\(username\)/i);
    });
  });
}
