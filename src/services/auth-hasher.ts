import { hash, verify } from '@node-rs/argon2';
import type { Config } from '../config.js';

/** Password hashing (argon2id: @node-rs/argon2's default algorithm). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}

export function createArgon2Hasher(params: Config['argon2']): PasswordHasher {
  const options = { memoryCost: params.memoryCost, timeCost: params.timeCost, parallelism: 1 };
  return {
    hash: (password) => hash(password, options),
    async verify(hashed, password) {
      try {
        return await verify(hashed, password);
      } catch {
        return false; // a malformed stored hash never authenticates
      }
    },
  };
}
