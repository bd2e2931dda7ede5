import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ApiKey, ApiKeyCreated, ApiKeyScope } from '../api/schemas.js';
import type { ApiKeyRecord, ApiKeysRepository } from '../db/repositories/api-keys.js';
import { ConflictError, NotFoundError, UnauthorizedError } from '../errors.js';
import type { AuthUser } from './auth.js';

/**
 * API keys for scripts: `wdk_<id>_<secret>`, sent as `Authorization: Bearer <key>`. The prefix
 * makes a leaked key easy to recognise (secret scanners, logs); the id finds the row; only the
 * SHA-256 of the 256-bit random secret is stored (a fast hash is enough for a secret that long:
 * there is nothing to guess), so the key is shown once, when it is made. A key carries the
 * scopes it was made with (`read`, `write`); revoking deletes it.
 */

export const API_KEY_PREFIX = 'wdk_';
const KEY_RE = /^wdk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
/** Keys one user may have at once. */
export const MAX_API_KEYS_PER_USER = 50;

export interface ApiKeysService {
  create(userId: string, name: string, scopes: ApiKeyScope[]): Promise<ApiKeyCreated>;
  list(userId: string): Promise<ApiKey[]>;
  revoke(userId: string, id: string): Promise<void>;
  /** The user a key belongs to, with the key's scopes; throws 401 INVALID_API_KEY. */
  verify(key: string): Promise<AuthUser>;
}

export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

const toUuid = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

export function toApiKeyView(k: ApiKeyRecord): ApiKey {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes.filter((s): s is ApiKeyScope => s === 'read' || s === 'write'),
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt ? k.lastUsedAt.toISOString() : null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createApiKeysService(deps: { apiKeys: ApiKeysRepository; now?: () => Date }): ApiKeysService {
  const { apiKeys } = deps;
  const now = deps.now ?? (() => new Date());
  const invalid = () =>
    new UnauthorizedError('The API key is invalid or has been revoked.', 'INVALID_API_KEY');

  return {
    async create(userId, name, scopes) {
      if ((await apiKeys.countByOwner(userId)) >= MAX_API_KEYS_PER_USER) {
        throw new ConflictError(
          `You already have ${MAX_API_KEYS_PER_USER} API keys; revoke one before making another.`,
          'TOO_MANY_API_KEYS',
        );
      }
      const id = randomUUID();
      const secret = randomBytes(32).toString('base64url');
      // read before write, whatever order they were asked in
      const ordered = (['read', 'write'] as const).filter((s) => scopes.includes(s));
      const record = await apiKeys.create({
        id,
        userId,
        name: name.trim() || 'key',
        scopes: ordered,
        secretHash: hashSecret(secret).toString('hex'),
      });
      return { apiKey: toApiKeyView(record), key: `${API_KEY_PREFIX}${id.replaceAll('-', '')}_${secret}` };
    },

    async list(userId) {
      return (await apiKeys.listByOwner(userId)).map(toApiKeyView);
    },

    async revoke(userId, id) {
      if (!UUID.test(id) || !(await apiKeys.delete(id, userId))) {
        throw new NotFoundError('The API key was not found.', 'API_KEY_NOT_FOUND');
      }
    },

    async verify(key) {
      const m = KEY_RE.exec(key);
      if (!m) throw invalid();
      const record = await apiKeys.findById(toUuid(m[1]));
      if (!record) throw invalid();
      const expected = Buffer.from(record.secretHash, 'hex');
      const actual = hashSecret(m[2]);
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw invalid();
      await apiKeys.touch(record.id, now()).catch(() => {}); // bookkeeping must not fail the request
      return {
        id: record.userId,
        username: record.username,
        scopes: toApiKeyView(record).scopes,
        via: 'api-key',
        expiresAt: null,
      };
    },
  };
}
