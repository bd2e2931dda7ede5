import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { API_KEY_SCOPES, type ApiKeyScope, PASSWORD_MIN_LENGTH } from '../api/schemas.js';
import type { Config } from '../config.js';
import { isUniqueViolation } from '../db/index.js';
import type { RefreshTokensRepository } from '../db/repositories/refresh-tokens.js';
import type { UsersRepository } from '../db/repositories/users.js';
import type { UserRow } from '../db/types.js';
import { ConflictError, ForbiddenError, UnauthorizedError, ValidationError } from '../errors.js';
import type { PasswordHasher } from './auth-hasher.js';

export interface PublicUser {
  id: string;
  username: string;
  createdAt: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** What a valid access token or API key says: set on `request.user` by the auth plugin. */
export interface AuthUser {
  id: string;
  username: string;
  /** what the credential may do: a session may do everything, an API key what it was made for */
  scopes: readonly ApiKeyScope[];
  /** a signed-in session (access token) or an API key */
  via: 'session' | 'api-key';
  /** when the credential stops working (an access token's exp); null for an API key */
  expiresAt: Date | null;
}

/**
 * The password policy, as a sentence for the first rule a password breaks (null when it is
 * fine): at least PASSWORD_MIN_LENGTH characters, at least 5 different ones ("aaaaaaaaaaaa" and
 * "abababababab" are out), and not containing the username.
 */
export function passwordProblem(password: string, username: string): string | null {
  const chars = Array.from(password);
  if (chars.length < PASSWORD_MIN_LENGTH)
    return `The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`;
  if (new Set(chars).size < 5) return 'The password must use at least 5 different characters.';
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase()))
    return 'The password must not contain the username.';
  return null;
}

export interface AuthService {
  register(username: string, password: string): Promise<PublicUser>;
  login(username: string, password: string): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
  logout(refreshToken: string): Promise<void>;
  /** Verifies an access token; throws 401 INVALID_TOKEN. */
  verifyAccessToken(token: string): Promise<AuthUser>;
  me(userId: string): Promise<PublicUser>;
}

export interface AuthServiceDeps {
  users: UsersRepository;
  tokens: RefreshTokensRepository;
  config: Pick<
    Config,
    'jwtSecret' | 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds' | 'registrationEnabled'
  >;
  hasher: PasswordHasher;
  now?: () => Date;
}

const ISSUER = 'web-detector';
const ACCESS_TYP = 'at+jwt';

export function toPublicUser(u: UserRow): PublicUser {
  return { id: u.id, username: u.username, createdAt: new Date(u.created_at).toISOString() };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const invalidCredentials = () =>
  new UnauthorizedError('The username or password is wrong.', 'INVALID_CREDENTIALS');
const invalidRefresh = () =>
  new UnauthorizedError('The refresh token is invalid, expired or revoked.', 'INVALID_REFRESH_TOKEN');
const invalidToken = (why = 'The access token is invalid or expired.') =>
  new UnauthorizedError(why, 'INVALID_TOKEN');

export function createAuthService({
  users,
  tokens,
  config,
  hasher,
  now = () => new Date(),
}: AuthServiceDeps): AuthService {
  const key = new TextEncoder().encode(config.jwtSecret);
  // verifying against this for unknown users makes their login take as long as a wrong password
  let dummyHash: Promise<string> | undefined;
  const getDummyHash = () => {
    dummyHash ??= hasher.hash(randomBytes(16).toString('hex'));
    return dummyHash;
  };

  async function issue(
    user: { id: string; username: string },
    familyId: string,
    rotateFrom?: string,
  ): Promise<TokenPair> {
    const iat = Math.floor(now().getTime() / 1000);
    const accessToken = await new SignJWT({ username: user.username })
      .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TYP })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(iat + config.accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(key);
    const refreshToken = randomBytes(32).toString('base64url');
    const row = {
      id: randomUUID(),
      userId: user.id,
      familyId,
      tokenHash: hashRefreshToken(refreshToken),
      expiresAt: new Date(now().getTime() + config.refreshTokenTtlSeconds * 1000),
    };
    if (rotateFrom) {
      if (!(await tokens.rotate(rotateFrom, row))) {
        // a concurrent refresh with the same token won: treat this one as reuse
        await tokens.revokeFamily(familyId);
        throw invalidRefresh();
      }
    } else {
      await tokens.create(row);
    }
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: config.accessTokenTtlSeconds };
  }

  return {
    async register(username, password) {
      if (!config.registrationEnabled) {
        throw new ForbiddenError('Registration is disabled on this server.', 'REGISTRATION_DISABLED');
      }
      const weak = passwordProblem(password, username);
      if (weak) throw new ValidationError(weak, 'WEAK_PASSWORD');
      const passwordHash = await hasher.hash(password);
      try {
        return toPublicUser(await users.create({ id: randomUUID(), username, passwordHash }));
      } catch (e) {
        if (isUniqueViolation(e))
          throw new ConflictError('That username is already taken.', 'USERNAME_TAKEN');
        throw e;
      }
    },

    async login(username, password) {
      // case-insensitive: `Bob` logs in as bob (usernames are unique without regard to case)
      const user = await users.findByUsername(username);
      if (!user) {
        await hasher.verify(await getDummyHash(), password);
        throw invalidCredentials();
      }
      if (!(await hasher.verify(user.password_hash, password))) throw invalidCredentials();
      return issue(user, randomUUID());
    },

    async refresh(refreshToken) {
      const row = await tokens.findByHash(hashRefreshToken(refreshToken));
      if (!row) throw invalidRefresh();
      if (row.revoked_at) {
        // reuse of a rotated (or logged-out) token: someone else may hold the family; end it
        await tokens.revokeFamily(row.family_id);
        throw invalidRefresh();
      }
      if (new Date(row.expires_at).getTime() <= now().getTime()) throw invalidRefresh();
      const user = await users.findById(row.user_id);
      if (!user) throw invalidRefresh();
      return issue(user, row.family_id, row.id);
    },

    async logout(refreshToken) {
      const row = await tokens.findByHash(hashRefreshToken(refreshToken));
      if (row) await tokens.revokeFamily(row.family_id);
    },

    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          typ: ACCESS_TYP,
          requiredClaims: ['sub', 'exp', 'iat'],
          currentDate: now(),
        });
        if (typeof payload.sub !== 'string' || typeof payload.username !== 'string') throw invalidToken();
        return {
          id: payload.sub,
          username: payload.username,
          scopes: API_KEY_SCOPES,
          via: 'session',
          expiresAt: new Date((payload.exp ?? 0) * 1000),
        };
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) throw invalidToken('The access token has expired.');
        throw invalidToken();
      }
    },

    async me(userId) {
      const user = await users.findById(userId);
      if (!user) throw invalidToken('The user of this access token no longer exists.');
      return toPublicUser(user);
    },
  };
}
