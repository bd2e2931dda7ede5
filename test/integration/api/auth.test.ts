import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { assertError, call, registerAndLogin, uniqueName } from '../../helpers/http.js';
import {
  createTestDatabase,
  DB_KINDS,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

for (const kind of DB_KINDS) {
  describe(`auth API (${kind})`, () => {
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

    it('registers, logs in, answers me', async () => {
      const username = uniqueName('alice');
      const reg = await call(base, 'POST', '/v1/auth/register', {
        json: { username, password: 'password1234' },
      });
      assert.equal(reg.status, 201);
      assert.equal(reg.body.user.username, username);
      assert.match(reg.body.user.id, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(reg.body.user.createdAt)));
      assert.equal(reg.body.user.password_hash, undefined);
      const login = await call(base, 'POST', '/v1/auth/login', {
        json: { username, password: 'password1234' },
      });
      assert.equal(login.status, 200);
      assert.equal(login.body.tokenType, 'Bearer');
      assert.equal(login.body.expiresIn, 900);
      const me = await call(base, 'GET', '/v1/auth/me', { token: login.body.accessToken });
      assert.equal(me.status, 200);
      assert.deepEqual(me.body.user, reg.body.user);
      assert.ok(me.headers.get('x-request-id'));
    });

    it('keeps a sane incoming x-request-id and replaces an odd one', async () => {
      const a = await call(base, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-123.abc' } });
      assert.equal(a.headers.get('x-request-id'), 'trace-123.abc');
      const b = await call(base, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id <script>' } });
      assert.match(b.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });

    it('rejects a taken username with 409', async () => {
      const username = uniqueName();
      assert.equal(
        (await call(base, 'POST', '/v1/auth/register', { json: { username, password: 'password1234' } }))
          .status,
        201,
      );
      assertError(
        await call(base, 'POST', '/v1/auth/register', { json: { username, password: 'otherpass1234' } }),
        409,
        'USERNAME_TAKEN',
      );
    });

    it('lets exactly one of concurrent registrations of a name win', async () => {
      const username = uniqueName('race');
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          call(base, 'POST', '/v1/auth/register', { json: { username, password: 'password1234' } }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses: ${statuses}`);
      assert.equal(statuses.filter((s) => s === 409).length, 7, `statuses: ${statuses}`);
    });

    describe('bad registration input', () => {
      const cases: [string, unknown, string, number, string][] = [
        [
          'missing username',
          { password: 'password1234' },
          'body/username is required.',
          400,
          'VALIDATION_ERROR',
        ],
        ['missing password', { username: 'someone' }, 'body/password is required.', 400, 'VALIDATION_ERROR'],
        [
          'username a number',
          { username: 12345, password: 'password1234' },
          'body/username must be a string.',
          400,
          'VALIDATION_ERROR',
        ],
        [
          'password an object',
          { username: 'someone', password: { a: 1 } },
          'body/password must be a string.',
          400,
          'VALIDATION_ERROR',
        ],
        [
          'unknown field',
          { username: 'someone', password: 'password1234', admin: true },
          'body has an unknown property "admin".',
          400,
          'VALIDATION_ERROR',
        ],
        [
          'short password',
          { username: 'someone', password: 'short' },
          'body/password must be at least 12 characters long.',
          400,
          'VALIDATION_ERROR',
        ],
        [
          'short username',
          { username: 'ab', password: 'password1234' },
          'body/username must be at least 3 characters long.',
          400,
          'VALIDATION_ERROR',
        ],
        [
          '10 kB username',
          { username: 'a'.repeat(10_000), password: 'password1234' },
          'body/username must be at most 64 characters long.',
          400,
          'VALIDATION_ERROR',
        ],
        [
          'control characters',
          { username: 'bad\u0000name\u0007', password: 'password1234' },
          'body/username contains characters that are not allowed.',
          400,
          'VALIDATION_ERROR',
        ],
        [
          'SQL-like username',
          { username: "x'; drop table users; --", password: 'password1234' },
          'body/username contains characters that are not allowed.',
          400,
          'VALIDATION_ERROR',
        ],
        ['array body', [1, 2], 'body must be an object.', 400, 'VALIDATION_ERROR'],
      ];
      for (const [name, json, message, status, code] of cases) {
        it(name, async () => {
          const res = await call(base, 'POST', '/v1/auth/register', { json });
          assertError(res, status, code);
          assert.equal(res.body.error.message, message);
        });
      }
      it('invalid JSON', async () => {
        assertError(
          await call(base, 'POST', '/v1/auth/register', { json: '{"username": "x",' }),
          400,
          'INVALID_JSON',
        );
      });
      it('oversized JSON body → 413', async () => {
        const res = await call(base, 'POST', '/v1/auth/register', {
          json: { username: 'someone', password: 'p'.repeat(100_000) },
        });
        assertError(res, 413, 'PAYLOAD_TOO_LARGE');
      });
      it('wrong content type → 415', async () => {
        const res = await call(base, 'POST', '/v1/auth/register', {
          body: 'username=x&password=y',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      });
      it('the server still answers afterwards', async () => {
        assert.equal((await call(base, 'GET', '/healthz')).status, 200);
      });
    });

    it('stores SQL-like and unicode passwords verbatim (they work for login)', async () => {
      const username = uniqueName('sql');
      const password = "'; drop table users; -- \u0000\u202e ünïcødé";
      assert.equal(
        (await call(base, 'POST', '/v1/auth/register', { json: { username, password } })).status,
        201,
      );
      assert.equal(
        (await call(base, 'POST', '/v1/auth/login', { json: { username, password } })).status,
        200,
      );
      assertError(
        await call(base, 'POST', '/v1/auth/login', { json: { username, password: password.slice(0, -1) } }),
        401,
        'INVALID_CREDENTIALS',
      );
    });

    it('accepts every allowed username character and returns it verbatim', async () => {
      const username = `A.b-c_${Date.now().toString(36)}`;
      const reg = await call(base, 'POST', '/v1/auth/register', {
        json: { username, password: 'password1234' },
      });
      assert.equal(reg.status, 201);
      assert.equal(reg.body.user.username, username);
    });

    it('answers unknown user and wrong password alike', async () => {
      const { username } = await registerAndLogin(base);
      const wrong = await call(base, 'POST', '/v1/auth/login', {
        json: { username, password: 'not the password' },
      });
      const unknown = await call(base, 'POST', '/v1/auth/login', {
        json: { username: uniqueName('ghost'), password: 'not the password' },
      });
      assertError(wrong, 401, 'INVALID_CREDENTIALS');
      assertError(unknown, 401, 'INVALID_CREDENTIALS');
      assert.equal(wrong.body.error.message, unknown.body.error.message);
    });

    it('rotates refresh tokens; reusing an old one revokes the family', async () => {
      const s = await registerAndLogin(base);
      const r1 = await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: s.refreshToken } });
      assert.equal(r1.status, 200);
      assert.notEqual(r1.body.refreshToken, s.refreshToken);
      assert.equal((await call(base, 'GET', '/v1/auth/me', { token: r1.body.accessToken })).status, 200);
      const r2 = await call(base, 'POST', '/v1/auth/refresh', {
        json: { refreshToken: r1.body.refreshToken },
      });
      assert.equal(r2.status, 200);
      // reuse of the first (rotated) token: 401, and the live one (r2) dies with the family
      assertError(
        await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: s.refreshToken } }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
      assertError(
        await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: r2.body.refreshToken } }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
      // another login is another family and still works
      const again = await call(base, 'POST', '/v1/auth/login', {
        json: { username: s.username, password: s.password },
      });
      assert.equal(
        (await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: again.body.refreshToken } }))
          .status,
        200,
      );
    });

    it('rejects an unknown refresh token', async () => {
      assertError(
        await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: 'nope' } }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
      assertError(await call(base, 'POST', '/v1/auth/refresh', { json: {} }), 400, 'VALIDATION_ERROR');
    });

    it('logout revokes the refresh token', async () => {
      const s = await registerAndLogin(base);
      const out = await call(base, 'POST', '/v1/auth/logout', { json: { refreshToken: s.refreshToken } });
      assert.equal(out.status, 204);
      assert.ok(out.headers.get('x-request-id'));
      assertError(
        await call(base, 'POST', '/v1/auth/refresh', { json: { refreshToken: s.refreshToken } }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
    });

    describe('bad access tokens → 401', () => {
      let s: Awaited<ReturnType<typeof registerAndLogin>>;
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      before(async () => {
        s = await registerAndLogin(base);
      });
      it('no token', async () => {
        assertError(await call(base, 'GET', '/v1/auth/me'), 401, 'UNAUTHORIZED');
      });
      it('not a bearer header', async () => {
        assertError(
          await call(base, 'GET', '/v1/auth/me', { headers: { authorization: `Basic ${s.accessToken}` } }),
          401,
        );
      });
      it('tampered payload', async () => {
        const [h, , sig] = s.accessToken.split('.');
        const payload = b64({
          sub: '00000000-0000-0000-0000-000000000000',
          username: 'admin',
          iss: 'web-detector',
          iat: 1,
          exp: 4102444800,
        });
        assertError(
          await call(base, 'GET', '/v1/auth/me', { token: `${h}.${payload}.${sig}` }),
          401,
          'INVALID_TOKEN',
        );
      });
      it('tampered signature', async () => {
        const t = s.accessToken.slice(0, -3) + (s.accessToken.endsWith('AAA') ? 'BBB' : 'AAA');
        assertError(await call(base, 'GET', '/v1/auth/me', { token: t }), 401, 'INVALID_TOKEN');
      });
      it('alg none', async () => {
        const [, p] = s.accessToken.split('.');
        assertError(
          await call(base, 'GET', '/v1/auth/me', { token: `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.` }),
          401,
          'INVALID_TOKEN',
        );
      });
      it('expired', async () => {
        const key = new TextEncoder().encode(srv.config.jwtSecret);
        const t = await new SignJWT({ username: s.username })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .setSubject(s.userId)
          .setIssuer('web-detector')
          .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(key);
        const res = await call(base, 'GET', '/v1/auth/me', { token: t });
        assertError(res, 401, 'INVALID_TOKEN');
        assert.match(res.body.error.message, /expired/);
      });
      it('signed with another secret', async () => {
        const key = new TextEncoder().encode('another secret that is long enough to be valid');
        const t = await new SignJWT({ username: s.username })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .setSubject(s.userId)
          .setIssuer('web-detector')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);
        assertError(await call(base, 'GET', '/v1/auth/me', { token: t }), 401, 'INVALID_TOKEN');
      });
      it('a refresh token used as access token', async () => {
        assertError(await call(base, 'GET', '/v1/auth/me', { token: s.refreshToken }), 401, 'INVALID_TOKEN');
      });
    });

    it('rate-limits login per IP and username → 429', async () => {
      const limited = await startServer(tdb, { LOGIN_RATE_LIMIT_PER_MINUTE: '3' });
      try {
        const { username, password } = await registerAndLogin(limited.url);
        // registerAndLogin used 1 attempt
        for (let i = 0; i < 2; i++) {
          assert.equal(
            (
              await call(limited.url, 'POST', '/v1/auth/login', {
                json: { username, password: 'wrong password' },
              })
            ).status,
            401,
          );
        }
        const res = await call(limited.url, 'POST', '/v1/auth/login', { json: { username, password } });
        assertError(res, 429, 'RATE_LIMITED');
        assert.ok(res.headers.get('retry-after'));
        // another username from the same address is not limited
        const other = await call(limited.url, 'POST', '/v1/auth/login', {
          json: { username: uniqueName(), password: 'x' },
        });
        assertError(other, 401, 'INVALID_CREDENTIALS');
      } finally {
        await limited.close();
      }
    });

    it('refuses registration when disabled → 403', async () => {
      const closed = await startServer(tdb, { REGISTRATION_ENABLED: 'false' });
      try {
        const res = await call(closed.url, 'POST', '/v1/auth/register', {
          json: { username: uniqueName(), password: 'password1234' },
        });
        assertError(res, 403, 'REGISTRATION_DISABLED');
      } finally {
        await closed.close();
      }
    });
  });
}
