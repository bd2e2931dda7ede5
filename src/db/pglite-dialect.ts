import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * A Kysely dialect over PGlite (embedded PostgreSQL in WebAssembly). PGlite is a single
 * connection, so the driver hands out that one connection behind a FIFO mutex: a transaction holds
 * it from BEGIN to COMMIT/ROLLBACK and other queries wait. Inside `db.transaction()` use the `trx`
 * handle only: a query on the outer `db` would wait for the transaction and deadlock.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly open: () => Promise<PGlite>) {}
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.open);
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(readonly pg: PGlite) {}
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const res = await this.pg.query<R>(compiled.sql, compiled.parameters as unknown[]);
    const kind = compiled.query.kind;
    const isWrite = kind === 'InsertQueryNode' || kind === 'UpdateQueryNode' || kind === 'DeleteQueryNode';
    return {
      rows: res.rows,
      ...(isWrite || res.affectedRows ? { numAffectedRows: BigInt(res.affectedRows ?? 0) } : {}),
    };
  }
  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // PGlite has no cursors over its wire: return the whole result as one chunk.
    yield await this.executeQuery<R>(compiled);
  }
}

class PGliteDriver implements Driver {
  private pg?: PGlite;
  private conn?: PGliteConnection;
  private readonly mutex = new Mutex();
  private readonly releases = new WeakMap<DatabaseConnection, (() => void)[]>();

  constructor(private readonly open: () => Promise<PGlite>) {}

  async init(): Promise<void> {
    this.pg = await this.open();
    this.conn = new PGliteConnection(this.pg);
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.mutex.lock();
    const conn = this.conn;
    if (!conn) {
      release();
      throw new Error('The embedded database is closed.');
    }
    const list = this.releases.get(conn) ?? [];
    list.push(release);
    this.releases.set(conn, list);
    return conn;
  }
  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) {
      const parts = [
        settings.isolationLevel && `isolation level ${settings.isolationLevel}`,
        settings.accessMode,
      ]
        .filter(Boolean)
        .join(' ');
      await conn.executeQuery(CompiledQuery.raw(`begin transaction ${parts}`));
    } else {
      await conn.executeQuery(CompiledQuery.raw('begin'));
    }
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    this.releases.get(conn)?.shift()?.();
  }
  async destroy(): Promise<void> {
    const release = await this.mutex.lock();
    try {
      const pg = this.pg;
      this.pg = undefined;
      this.conn = undefined;
      if (pg && !pg.closed) await pg.close();
    } finally {
      release();
    }
  }
}
